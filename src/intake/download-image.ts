import type { Dispatcher } from 'undici';
import { GenguardError, isGenguardError } from '../errors/genguard-error.js';
import type { IntakeLimits } from '../config/load-config.js';
import { describeContent, looksLikeHtml, sniffFormat } from './sniff-format.js';
import { ipLiteral, type AddressPolicy } from './url-guard.js';

export interface DownloadOptions {
  /** Sent to the first host; Authorization/Cookie are dropped when a redirect leaves its origin. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface DownloadContext {
  dispatcher: Dispatcher;
  policy: AddressPolicy;
  limits: IntakeLimits;
}

export interface Downloaded {
  bytes: Buffer;
  /** The URL the bytes finally came from, after redirects. */
  finalUrl: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_SENSITIVE = ['authorization', 'cookie', 'proxy-authorization'];
/** Bytes read before deciding whether the body is an image at all (an HTML page need not be read to the end). */
const SNIFF_BYTES = 4096;

/**
 * GET an image with every intake rule of the network path: a timeout for the whole exchange,
 * the byte cap enforced from Content-Length and again while streaming, manual redirects (counted,
 * re-checked against the address policy, credentials dropped across origins), and typed errors
 * for every way it can fail. The connect-time DNS check lives in the dispatcher (guarded-lookup.ts);
 * IP-literal hosts are checked here because they never reach a lookup.
 */
export async function downloadImage(rawUrl: string, context: DownloadContext, options: DownloadOptions = {}): Promise<Downloaded> {
  const { limits } = context;
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let url = parseUrl(rawUrl);
  let headers = buildHeaders(options.headers);
  // Slack answers a token without files:read with a redirect to its (other-host) login page, so
  // what matters is whether the caller sent credentials at all, not whether the last hop got them.
  const authorizationSent = headers['authorization'] !== undefined;

  try {
    for (let redirects = 0; ; redirects++) {
      checkLiteralHost(url, context.policy);
      signal.throwIfAborted();
      const response = await context.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        signal,
        headersTimeout: limits.fetchTimeoutMs,
        bodyTimeout: limits.fetchTimeoutMs,
      });
      const { statusCode } = response;

      if (REDIRECTS.has(statusCode)) {
        discard(response.body);
        const location = headerValue(response.headers['location']);
        if (location === undefined) {
          throw new GenguardError('http_error', `${url.href} answered ${statusCode} without a Location`, {
            details: { status: statusCode },
          });
        }
        if (redirects + 1 > limits.maxRedirects) {
          throw new GenguardError('redirect_limit', `${rawUrl} redirected more than ${limits.maxRedirects} times`, {
            details: { maxRedirects: limits.maxRedirects },
          });
        }
        const next = parseUrl(location, url);
        if (next.origin !== url.origin) headers = withoutSensitive(headers);
        url = next;
        continue;
      }

      if (statusCode < 200 || statusCode > 299) {
        discard(response.body);
        throw statusError(url, statusCode, headerValue(response.headers['retry-after']));
      }

      const declared = Number(headerValue(response.headers['content-length']));
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        discard(response.body);
        throw tooLarge(url, `declares ${declared} bytes`, limits.maxBytes);
      }

      const bytes = await readCapped(response.body, url, limits.maxBytes, (head) =>
        notAnImage(url, head, authorizationSent, headerValue(response.headers['content-type'])),
      );
      return { bytes, finalUrl: url.href };
    }
  } catch (error) {
    throw downloadError(error, url, timeout, options.signal, limits.fetchTimeoutMs);
  }
}

/** Reads the body, stopping (and closing the connection) the moment it passes `maxBytes`. */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  url: URL,
  maxBytes: number,
  refuse: (head: Buffer) => GenguardError,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  let sniffed = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(url, `sent more than ${maxBytes} bytes`, maxBytes);
      chunks.push(chunk);
      if (!sniffed && total >= SNIFF_BYTES) {
        sniffed = true;
        const head = Buffer.concat(chunks, total);
        if (sniffFormat(head) === undefined) throw refuse(head);
      }
    }
  } finally {
    // Leaving the loop early (cap, refusal, abort) must not leave the socket streaming.
    discard(body);
  }
  const bytes = Buffer.concat(chunks, total);
  if (bytes.length === 0) throw new GenguardError('empty_input', `${url.href} answered with an empty body`);
  if (sniffFormat(bytes) === undefined) throw refuse(bytes);
  return bytes;
}

function notAnImage(url: URL, head: Buffer, authorizationSent: boolean, contentType: string | undefined): GenguardError {
  const html = looksLikeHtml(head) || (contentType !== undefined && /^\s*text\/html/i.test(contentType));
  if (html && authorizationSent) {
    return new GenguardError(
      'auth_failed',
      `${url.host} answered with an HTML page instead of the image although a token was sent: the token was ` +
        'probably refused or lacks the scope to read files (for Slack: files:read)',
      { details: { url: url.href } },
    );
  }
  const what = html ? 'an HTML page (a login or error page?)' : describeContent(head);
  return new GenguardError('unsupported_format', `${url.href} is not a supported image: it looks like ${what}`, {
    details: { url: url.href, ...(contentType === undefined ? {} : { contentType }) },
  });
}

function statusError(url: URL, status: number, retryAfter: string | undefined): GenguardError {
  const details = { status, url: url.href };
  if (status === 404 || status === 410) {
    return new GenguardError('not_found', `${url.href} answered ${status}: the file is gone or the link expired`, { details });
  }
  if (status >= 500) {
    return new GenguardError('fetch_failed', `${url.host} answered ${status}`, { details });
  }
  // Timeouts and rate limits are the only client errors worth another try.
  if (status === 408 || status === 429) {
    const seconds = Number(retryAfter);
    return new GenguardError('http_error', `${url.host} answered ${status}`, {
      details,
      retryable: true,
      ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterSeconds: seconds } : {}),
    });
  }
  return new GenguardError('http_error', `${url.href} answered ${status}`, { details });
}

function downloadError(
  error: unknown,
  url: URL,
  timeout: AbortSignal,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): GenguardError {
  const own = findGenguardError(error);
  if (own) return own;
  if (timeout.aborted || TIMEOUT_CODES.has(codeOf(error) ?? '')) {
    return new GenguardError('fetch_timeout', `downloading ${url.href} took longer than ${timeoutMs} ms`, { cause: error });
  }
  if (callerSignal?.aborted) {
    const reason: unknown = callerSignal.reason;
    if (isGenguardError(reason)) return reason;
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
    return new GenguardError(timedOut ? 'fetch_timeout' : 'fetch_failed', `downloading ${url.href} was aborted`, {
      cause: error,
      retryable: timedOut,
    });
  }
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return new GenguardError('fetch_failed', `cannot download ${url.href}: ${code ? `${code} ` : ''}${message}`, {
    cause: error,
  });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Our refusals (from the lookup, or thrown while reading) can come back wrapped by undici or net. */
function findGenguardError(error: unknown): GenguardError | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (isGenguardError(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function parseUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch (cause) {
    throw new GenguardError('fetch_refused', `not a valid URL: ${raw}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GenguardError('fetch_refused', `only http and https URLs are fetched, not ${url.protocol}`, {
      details: { url: url.href },
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new GenguardError('fetch_refused', 'URLs with embedded credentials are not fetched; pass a header instead');
  }
  return url;
}

function checkLiteralHost(url: URL, policy: AddressPolicy): void {
  const ip = ipLiteral(url.hostname);
  if (ip === undefined) return;
  const verdict = policy.check(ip, ip);
  if (!verdict.allowed) {
    throw new GenguardError('fetch_refused', `refusing to fetch ${url.href}: ${verdict.reason}`, {
      details: { url: url.href },
    });
  }
}

function buildHeaders(extra: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': 'genguard (image moderation bot)',
    accept: 'image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8,*/*;q=0.1',
  };
  for (const [name, value] of Object.entries(extra ?? {})) headers[name.toLowerCase()] = value;
  // The bytes must be the file as stored: no transfer compression to undo.
  headers['accept-encoding'] = 'identity';
  return headers;
}

function withoutSensitive(headers: Record<string, string>): Record<string, string> {
  const copy = { ...headers };
  for (const name of CROSS_ORIGIN_SENSITIVE) delete copy[name];
  return copy;
}

/** Drops a body we will not read; undici then reports an abort we have no use for. */
function discard(body: Dispatcher.ResponseData['body']): void {
  if (body.destroyed) return;
  body.on('error', () => {});
  body.destroy();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tooLarge(url: URL, what: string, maxBytes: number): GenguardError {
  return new GenguardError('too_large', `${url.href} ${what}, above the ${maxBytes}-byte limit`, {
    details: { maxBytes, url: url.href },
  });
}
