/**
 * Slack mrkdwn helpers. Slack treats `<…>` as control sequences (`<!channel>`, `<@U1>`,
 * `<https://x|label>`), so any text a user controls — a file name, a URL, an error that quotes
 * either — is escaped before it goes into a message; otherwise a file called `<!channel>.png`
 * would ping the whole channel.
 */

/** Block Kit limits we stay under (https://docs.slack.dev/reference/block-kit). */
export const LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  contextText: 2000,
  contextElements: 10,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  /** Top-level `text` fallback (notifications, screen readers); Slack truncates at 40k, 3k keeps it readable. */
  fallbackText: 3000,
} as const;

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes `text` and cuts it (with "…") so the escaped form is at most `max` characters. Cutting
 * happens on the raw text, by code point, so neither an entity like `&amp;` nor a surrogate pair
 * is split.
 */
export function escapeAndFit(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const ch of text) {
    const piece = escapeMrkdwn(ch);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/** Cuts already-safe text (no user input, or already escaped) to `max` characters. */
export function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  // Never end inside an entity that the cut split ("&am…").
  out = out.replace(/&[a-z]{0,4}$/, '');
  return `${out}…`;
}

/** Slack ids (U…, C…, T…, W…, B…) are upper-case alphanumerics; anything else is not mentioned raw. */
const SLACK_ID = /^[A-Z0-9]{2,30}$/;

export function userMention(userId: string): string {
  return SLACK_ID.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

export function channelMention(channelId: string): string {
  return SLACK_ID.test(channelId) ? `<#${channelId}>` : escapeMrkdwn(channelId);
}

/** A link with a fixed label; the URL is checked to be http(s) and stripped of `|`, `<` and `>`. */
export function link(url: string, label: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeMrkdwn(label);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return escapeMrkdwn(label);
  const safeUrl = parsed.href.replace(/[|<>]/g, encodeURIComponent);
  return `<${safeUrl}|${escapeMrkdwn(label)}>`;
}

export function isSlackId(value: string): boolean {
  return SLACK_ID.test(value);
}
