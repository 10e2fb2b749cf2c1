import { escapeMarkdown } from 'discord.js';

/**
 * Text from users (file names, URLs, channel names) rendered in Discord markdown. Everything
 * is escaped so a crafted file name cannot format, hide a link or look like a mention.
 * Pings are prevented separately: every message is sent with `allowedMentions: { parse: [] }`
 * (NO_MENTIONS), so even a mention that slipped through would not notify anyone.
 */

const ZWSP = '\u200b';

/** Escapes markdown, masked links, headings/lists and mention syntax; one line, at most `max` characters. */
export function escapeText(text: string, max = 200): string {
  const oneLine = text.replace(/[\r\n\t]+/g, ' ').trim();
  const short = oneLine.length > max ? `${cutBefore(oneLine, max - 1)}…` : oneLine;
  return escapeMarkdown(short, {
    heading: true,
    bulletedList: true,
    numberedList: true,
    maskedLink: true,
  })
    // No autolinks: "https\://…" shows the same text but is not clickable.
    .replace(/:\/\//g, '\\://')
    .replace(/@/g, `@${ZWSP}`)
    .replace(/</g, '\\<')
    .replace(/>/g, '\\>');
}

/** A URL shown as text, in inline code: nothing inside is interpreted (no link preview, no markdown). */
export function escapeUrl(url: string, max = 120): string {
  const short = url.length > max ? `${cutBefore(url, max - 1)}…` : url;
  // Inline code cannot contain a backtick; nothing else inside code is interpreted.
  return `\`${short.replace(/`/g, 'ˋ').replace(/[\r\n]+/g, ' ')}\``;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** Allowed mentions for every message genguard sends: none. */
export const NO_MENTIONS = { parse: [] as never[], replied_user: false } as const;

/** Cuts to Discord's field limits without breaking the last character. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${cutBefore(text, max - 1)}…` : text;
}

/**
 * The first `end` UTF-16 units, one fewer when that would split a surrogate pair: a lone
 * surrogate (half an emoji) makes Discord refuse the whole message.
 */
function cutBefore(text: string, end: number): string {
  const last = text.charCodeAt(end - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}
