import { webApi } from '@slack/bolt';
import { GenguardError, type ErrorCode } from '../../errors/genguard-error.js';

/**
 * Web API plumbing shared by the bot and the notifier: how clients are built, and how Slack's
 * errors become GenguardErrors whose `retryable` flag the notify queue acts on.
 */

export type FetchLike = typeof globalThis.fetch;

export interface SlackClientSettings {
  /** SLACK_API_URL (Bolt's clientOptions.slackApiUrl). */
  apiUrl: string;
  /** WebClient's own retries. The notifier keeps 0: the queue retries with backoff instead. */
  retries: number;
  /** HTTP client for the Web API and `response_url` (tests pass one trusting the fake's certificate). */
  fetch?: FetchLike;
}

export function clientOptions(settings: SlackClientSettings): webApi.WebClientOptions {
  return {
    slackApiUrl: settings.apiUrl,
    retryConfig: { retries: settings.retries },
    // A 429 must reach the queue (with Retry-After) instead of blocking a worker slot.
    rejectRateLimitedCalls: settings.retries === 0,
    ...(settings.fetch ? { fetch: settings.fetch } : {}),
  };
}

/** Answers that will not change on retry, by the code genguard reports them as. */
const FINAL: Record<string, ErrorCode> = {
  channel_not_found: 'not_found',
  message_not_found: 'not_found',
  thread_not_found: 'not_found',
  user_not_found: 'not_found',
  file_not_found: 'not_found',
  is_archived: 'permission_denied',
  not_in_channel: 'permission_denied',
  missing_scope: 'permission_denied',
  no_permission: 'permission_denied',
  restricted_action: 'permission_denied',
  cant_update_message: 'permission_denied',
  cant_delete_message: 'permission_denied',
  ekm_access_denied: 'permission_denied',
  team_access_not_granted: 'permission_denied',
  not_authed: 'auth_failed',
  invalid_auth: 'auth_failed',
  account_inactive: 'auth_failed',
  token_revoked: 'auth_failed',
  token_expired: 'auth_failed',
  not_allowed_token_type: 'auth_failed',
  invalid_blocks: 'bad_request',
  invalid_arguments: 'bad_request',
  msg_too_long: 'bad_request',
  no_text: 'bad_request',
  too_many_attachments: 'bad_request',
};

/** Slack's word for it (`not_in_channel`, …) when the error is an API answer. */
export function slackErrorName(error: unknown): string | undefined {
  if (error instanceof Error && (error as { code?: unknown }).code === webApi.ErrorCode.PlatformError) {
    return (error as webApi.WebAPIPlatformError).data.error;
  }
  return undefined;
}

/** Wraps an error of a Web API call made for `what` ("posting the reply", …). */
export function toSlackError(error: unknown, what: string): GenguardError {
  if (error instanceof GenguardError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === webApi.ErrorCode.PlatformError) {
    const name = slackErrorName(error) ?? 'unknown_error';
    const final = FINAL[name];
    return final
      ? new GenguardError(final, `Slack refused ${what}: ${name}`, { cause: error, details: { slackError: name } })
      : new GenguardError('platform_error', `Slack failed ${what}: ${name}`, { cause: error, details: { slackError: name } });
  }
  if (code === webApi.ErrorCode.RateLimitedError) {
    const retryAfter = (error as webApi.WebAPIRateLimitedError).retryAfter;
    return new GenguardError('platform_error', `Slack rate-limited ${what} (retry after ${retryAfter} s)`, {
      cause: error,
      retryAfterSeconds: retryAfter,
    });
  }
  if (code === webApi.ErrorCode.HTTPError) {
    const status = (error as webApi.WebAPIHTTPError).statusCode;
    return new GenguardError('platform_error', `Slack answered HTTP ${status} ${what}`, {
      cause: error,
      retryable: status >= 500 || status === 408 || status === 429,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new GenguardError('platform_error', `could not reach Slack ${what}: ${message}`, { cause: error });
}

/**
 * POSTs a message to a slash command's or shortcut's `response_url` (valid 30 minutes, 5 uses).
 * 404 means expired or used up: final.
 */
export async function postToResponseUrl(
  url: string,
  body: Record<string, unknown>,
  options: { fetch?: FetchLike; signal?: AbortSignal } = {},
): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new GenguardError('platform_error', `could not reach the response_url: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  const retryAfter = Number(response.headers.get('retry-after'));
  if (response.status === 404 || response.status === 410) {
    throw new GenguardError('not_found', `the response_url expired or was used up (${text.slice(0, 100)})`, { retryable: false });
  }
  if (response.status === 429) {
    throw new GenguardError('platform_error', 'Slack rate-limited the response_url', {
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
  throw new GenguardError(response.status >= 500 ? 'platform_error' : 'bad_request', `response_url answered HTTP ${response.status}`, {
    retryable: response.status >= 500,
  });
}
