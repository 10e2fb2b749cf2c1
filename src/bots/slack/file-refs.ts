import { GenguardError } from '../../errors/genguard-error.js';

/**
 * Pure translations from Slack payloads to the images genguard scans. No I/O here, so every
 * rule about which files count is testable with plain objects.
 */

/** One image file of a Slack message. */
export interface SlackImageRef {
  fileId: string;
  name: string;
  /** `url_private_download`: needs the bot token as Bearer. */
  url: string;
  size?: number;
  mimetype?: string;
}

/** The fields of a Slack file object genguard reads (events, history, shortcuts all share it). */
export interface SlackFileLike {
  id?: string;
  name?: string | null;
  title?: string | null;
  mimetype?: string;
  filetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
  mode?: string;
  is_external?: boolean;
}

/** The fields of a Slack message (event, history item or shortcut `message`) genguard reads. */
export interface SlackMessageLike {
  type?: string;
  subtype?: string;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  ts?: string;
  thread_ts?: string;
  text?: string;
  files?: SlackFileLike[];
  hidden?: boolean;
}

/** Formats intake can decode; other `image/*` files (HEIC, SVG) are not scanned automatically. */
const SCANNABLE_MIME = new Set([
  'image/jpeg',
  'image/jpg',
  'image/pjpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/bmp',
  'image/x-ms-bmp',
  'image/tiff',
]);
const SCANNABLE_FILETYPE = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif', 'avif', 'bmp', 'tiff', 'tif']);

/** Slack allows 10 files per message; more would be a malformed payload, not a reason to queue more. */
export const MAX_FILES_PER_MESSAGE = 10;

export function isScannableFile(file: SlackFileLike): boolean {
  if (file.is_external === true) return false;
  // Deleted ("tombstone") files and files beyond a free plan's history ("hidden_by_limit") have no bytes.
  if (file.mode === 'tombstone' || file.mode === 'hidden_by_limit' || file.mode === 'external') return false;
  if (typeof file.url_private_download !== 'string' || typeof file.id !== 'string') return false;
  const mime = file.mimetype?.toLowerCase();
  if (mime !== undefined && SCANNABLE_MIME.has(mime)) return true;
  const type = file.filetype?.toLowerCase();
  return mime === undefined && type !== undefined && SCANNABLE_FILETYPE.has(type);
}

export function imageRefsOf(message: SlackMessageLike): SlackImageRef[] {
  const refs: SlackImageRef[] = [];
  for (const file of message.files ?? []) {
    if (!isScannableFile(file)) continue;
    const ref: SlackImageRef = {
      fileId: file.id as string,
      name: file.name ?? file.title ?? (file.id as string),
      url: file.url_private_download as string,
    };
    if (typeof file.size === 'number' && Number.isInteger(file.size) && file.size >= 0) ref.size = file.size;
    if (file.mimetype !== undefined) ref.mimetype = file.mimetype;
    refs.push(ref);
    if (refs.length === MAX_FILES_PER_MESSAGE) break;
  }
  return refs;
}

/**
 * Whether a `message` event is one the automatic scan looks at: a person's (not a bot's) new
 * message with files in a channel. Edits, deletions and bot posts (our own replies included) are not.
 */
export function isAutoScanCandidate(event: SlackMessageLike): boolean {
  if (event.type !== 'message') return false;
  if (event.subtype !== undefined && event.subtype !== 'file_share') return false;
  if (event.bot_id !== undefined || event.user === undefined) return false;
  if (event.channel === undefined || event.ts === undefined) return false;
  // DMs with the app are not moderated channels.
  if (event.channel_type === 'im') return false;
  return imageRefsOf(event).length > 0;
}

/** The newest message with a scannable image in a `conversations.history` page (newest first). */
export function latestImageMessage(
  messages: readonly SlackMessageLike[],
): { message: SlackMessageLike & { ts: string }; image: SlackImageRef } | undefined {
  for (const message of messages) {
    if (message.hidden === true || message.ts === undefined) continue;
    if (message.subtype !== undefined && message.subtype !== 'file_share' && message.subtype !== 'thread_broadcast') {
      continue;
    }
    const [image] = imageRefsOf(message);
    if (image !== undefined) return { message: { ...message, ts: message.ts }, image };
  }
  return undefined;
}

/**
 * The URL argument of `/aicheck`: empty → undefined (check the latest image in the channel);
 * Slack's escaped link form `<https://…>` or `<https://…|label>` and a bare URL are accepted.
 */
export function parseCheckArgument(text: string | undefined): URL | undefined {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return undefined;
  const token = trimmed.split(/\s+/)[0] as string;
  const linked = /^<([^>|]+)(?:\|[^>]*)?>$/.exec(token);
  const candidate = linked?.[1] ?? token;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    throw new GenguardError('usage', 'Give an image URL (https://…), or nothing to check the latest image in this channel.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GenguardError('usage', 'Only http(s) image URLs can be checked.');
  }
  return url;
}
