import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import { GenguardError, isGenguardError } from '../../errors/genguard-error.js';

/** Discord JSON error codes genguard reacts to. */
export const API_CODES = {
  unknownChannel: 10003,
  unknownMessage: 10008,
  unknownWebhook: 10015,
  unknownInteraction: 10062,
  missingAccess: 50001,
  cannotMessageUser: 50007,
  missingPermissions: 50013,
  invalidWebhookToken: 50027,
  alreadyAcknowledged: 40060,
} as const;

export function apiCode(error: unknown): number | undefined {
  return error instanceof DiscordAPIError && typeof error.code === 'number' ? error.code : undefined;
}

export function isApiCode(error: unknown, ...codes: number[]): boolean {
  const code = apiCode(error);
  return code !== undefined && codes.includes(code);
}

/** An interaction token that can no longer be used (older than 15 minutes, or unknown). */
export function isExpiredToken(error: unknown): boolean {
  return isApiCode(error, API_CODES.invalidWebhookToken, API_CODES.unknownWebhook, API_CODES.unknownInteraction);
}

/**
 * REST failures as GenguardErrors for the notify worker: outages and 5xx retry, a missing
 * channel or permission fails at once (retrying cannot fix it).
 */
export function toPlatformError(error: unknown, what: string): GenguardError {
  if (isGenguardError(error)) return error;
  if (error instanceof RateLimitError) {
    return new GenguardError('platform_error', `${what}: rate limited by Discord`, {
      cause: error,
      retryable: true,
      retryAfterSeconds: Math.ceil(error.retryAfter / 1000),
    });
  }
  if (error instanceof DiscordAPIError) {
    const detail = `${what}: Discord answered ${error.status} (${String(error.code)}: ${error.message})`;
    if (error.status === 403 || isApiCode(error, API_CODES.missingAccess, API_CODES.missingPermissions)) {
      return new GenguardError('permission_denied', detail, { cause: error, details: { discordCode: error.code } });
    }
    if (error.status === 404) return new GenguardError('not_found', detail, { cause: error, details: { discordCode: error.code } });
    if (error.status === 401) return new GenguardError('auth_failed', detail, { cause: error, details: { discordCode: error.code } });
    if (error.status >= 500) return new GenguardError('platform_error', detail, { cause: error });
    return new GenguardError('bad_request', detail, { cause: error, retryable: false, details: { discordCode: error.code } });
  }
  if (error instanceof HTTPError) {
    return new GenguardError('platform_error', `${what}: HTTP ${error.status} from Discord`, { cause: error, retryable: error.status >= 500 || error.status === 429 });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Network failures and timeouts (AbortError, ECONNRESET, …) are outages: retry.
  return new GenguardError('platform_error', `${what}: ${message}`, { cause: error, retryable: true });
}
