/**
 * Which images a Discord message holds, as plain references the queue can fetch. Pure: works
 * on the few fields read from discord.js objects (see `messageImagesOf` in discord-bot.ts) or
 * raw API payloads, so it is tested without a client.
 */

export interface ImageRef {
  kind: 'attachment' | 'embed' | 'sticker';
  /** Attachment id, `e<index>` for an embed, sticker id. Stable per message: part of the scan id. */
  key: string;
  url: string;
  fileName?: string;
  /** Size Discord announced (attachments only). */
  size?: number;
  contentType?: string;
  /** Whether genguard can read the format (false: e.g. HEIC, SVG, a Lottie sticker). */
  supported: boolean;
}

export interface AttachmentLike {
  id: string;
  name: string;
  url: string;
  proxyURL?: string;
  size: number;
  contentType?: string | null;
}

export interface EmbedLike {
  /** `image`, `gifv`, `rich`, `article`, … */
  type?: string | undefined;
  url?: string | null | undefined;
  image?: { url: string; proxyURL?: string | undefined } | null | undefined;
  thumbnail?: { url: string; proxyURL?: string | undefined } | null | undefined;
}

export interface StickerLike {
  id: string;
  name: string;
  /** 1 PNG, 2 APNG, 3 Lottie, 4 GIF. */
  format: number;
  url: string;
}

export interface MessageImages {
  attachments: Iterable<AttachmentLike>;
  embeds: Iterable<EmbedLike>;
  stickers: Iterable<StickerLike>;
}

export interface ImageRefOptions {
  /** Image links (embeds) too. */
  scanEmbeds: boolean;
  stickers: boolean;
  /** Hosts the worker may download from (DISCORD_MEDIA_HOSTS); other URLs are left out. */
  mediaHosts: readonly string[];
}

const SUPPORTED_TYPES = new Set(['jpeg', 'jpg', 'pjpeg', 'png', 'apng', 'webp', 'gif', 'avif', 'bmp', 'x-ms-bmp', 'tiff']);
const SUPPORTED_EXT = new Set(['jpg', 'jpeg', 'jfif', 'png', 'apng', 'webp', 'gif', 'avif', 'bmp', 'tif', 'tiff']);
const IMAGE_EXT = new Set([...SUPPORTED_EXT, 'heic', 'heif', 'svg', 'ico', 'jxl']);

/** Whether an attachment is a picture at all (by type, else by extension), and whether genguard reads it. */
export function classifyAttachment(a: Pick<AttachmentLike, 'name' | 'contentType'>): { image: boolean; supported: boolean } {
  const type = a.contentType?.split(';')[0]?.trim().toLowerCase();
  if (type?.startsWith('image/')) return { image: true, supported: SUPPORTED_TYPES.has(type.slice(6)) };
  if (type && type !== 'application/octet-stream') return { image: false, supported: false };
  const ext = /\.([a-z0-9]+)$/i.exec(a.name)?.[1]?.toLowerCase() ?? '';
  return { image: IMAGE_EXT.has(ext), supported: SUPPORTED_EXT.has(ext) };
}

export function isMediaHost(url: string, hosts: readonly string[]): boolean {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return false;
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    return hosts.some((h) => h.toLowerCase() === host);
  } catch {
    return false;
  }
}

/**
 * The images of a message, attachments first, each once. An explicit check ("Check for AI")
 * takes embeds and stickers whatever the server's settings; unsupported pictures are kept
 * (marked) so an explicit check can say why it skipped them.
 */
export function imageRefsOf(message: MessageImages, options: ImageRefOptions): ImageRef[] {
  const refs: ImageRef[] = [];
  const seen = new Set<string>();
  const push = (ref: ImageRef): void => {
    if (seen.has(ref.url) || !isMediaHost(ref.url, options.mediaHosts)) return;
    seen.add(ref.url);
    refs.push(ref);
  };

  for (const a of message.attachments) {
    const { image, supported } = classifyAttachment(a);
    if (!image) continue;
    const ref: ImageRef = { kind: 'attachment', key: a.id, url: a.url, fileName: a.name, size: a.size, supported };
    if (a.contentType) ref.contentType = a.contentType;
    push(ref);
  }

  if (options.scanEmbeds) {
    let index = 0;
    for (const e of message.embeds) {
      const key = `e${index++}`;
      // gifv (Tenor, Giphy) and video embeds only have a still thumbnail of a clip: not the picture posted.
      if (e.type === 'gifv' || e.type === 'video') continue;
      const pic = e.image ?? (e.type === 'image' ? e.thumbnail : undefined);
      if (!pic) continue;
      // Discord's media proxy copy keeps downloads on Discord's hosts; the original link may be anywhere.
      const url = pic.proxyURL ?? pic.url;
      push({ kind: 'embed', key, url, fileName: fileNameOf(e.url ?? pic.url), supported: true });
    }
  }

  if (options.stickers) {
    for (const s of message.stickers) {
      push({ kind: 'sticker', key: `s${s.id}`, url: s.url, fileName: s.name, supported: s.format === 1 || s.format === 2 || s.format === 4 });
    }
  }
  return refs;
}

function fileNameOf(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : url;
  } catch {
    return url;
  }
}
