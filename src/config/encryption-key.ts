/** What GENGUARD_ENCRYPTION_KEY must look like; also the config error's message (it never echoes the value). */
export const ENCRYPTION_KEY_FORMAT = '32 bytes as base64 (44 characters) or hex (64 characters), e.g. the output of `openssl rand -base64 32`';

/**
 * GENGUARD_ENCRYPTION_KEY's 32 bytes (an AES-256 key), from 64 hex digits or 44 base64 characters
 * (standard or URL-safe alphabet); undefined when the text is neither. Strict on length so a
 * truncated paste is a config error rather than a different key.
 */
export function decodeEncryptionKey(text: string): Buffer | undefined {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(s) || /^[A-Za-z0-9_-]{43}=$/.test(s)) {
    const bytes = Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
    return bytes.length === 32 ? bytes : undefined;
  }
  return undefined;
}
