import { createHash, randomBytes } from 'node:crypto';
import type { ErrorCode } from '../../errors/genguard-error.js';
import { userMessage } from '../../queue/failure-message.js';
import { escapeText, formatBytes } from './discord-text.js';

/**
 * What a Discord user reads when a check fails. Errors they can act on (too large, unsupported
 * format, out of credits …) are said in plain words; anything else is an internal error: it is
 * logged with a short id and the user gets that id to quote.
 */

const GENERIC = userMessage('internal');

export function isActionable(code: ErrorCode): boolean {
  return userMessage(code) !== GENERIC;
}

/** A short id for logs and messages; stable for one scan, so retries log the same id. */
export function errorIdFor(seed?: string): string {
  return seed ? createHash('sha256').update(seed).digest('hex').slice(0, 8) : randomBytes(4).toString('hex');
}

export interface ErrorTextOptions {
  fileName?: string | undefined;
  /** Announced size of the file, for "too large". */
  size?: number | undefined;
  maxBytes?: number | undefined;
  errorId: string;
}

export function errorText(code: ErrorCode, options: ErrorTextOptions): string {
  const about = options.fileName ? `**${escapeText(options.fileName, 100)}**: ` : '';
  if (code === 'too_large' && options.maxBytes !== undefined) {
    const size = options.size !== undefined && options.size > options.maxBytes ? `${formatBytes(options.size)}; ` : '';
    return `⚠️ ${about}This image is too large for me to check (${size}the limit is ${formatBytes(options.maxBytes)}).`;
  }
  if (isActionable(code)) return `⚠️ ${about}${userMessage(code)}`;
  return `⚠️ ${about}${GENERIC} (error id: \`${options.errorId}\`)`;
}
