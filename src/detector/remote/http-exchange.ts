import { request, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { GenguardError } from '../../errors/genguard-error.js';
import { abortError } from './retry.js';

export interface ExchangeRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer | string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Responses larger than this are refused: the vendors answer with small JSON documents. */
  maxResponseBytes?: number;
  /** Backend name for messages. */
  label: string;
}

export interface ExchangeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const DEFAULT_MAX_RESPONSE = 1024 * 1024;

/**
 * One HTTP exchange through undici with a hard timeout that covers connect, headers and body,
 * translated into GenguardErrors: timeouts → `timeout`, network failures → `remote_unavailable`
 * (both retryable). HTTP error statuses are returned, not thrown: each client maps its vendor's.
 */
export async function exchange(dispatcher: Dispatcher | undefined, req: ExchangeRequest): Promise<ExchangeResponse> {
  if (req.signal?.aborted) throw abortError(req.signal, req.label);
  const controller = new AbortController();
  const timeout = new GenguardError('timeout', `${req.label}: no complete answer within ${req.timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(timeout), req.timeoutMs);
  const onAbort = () => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      signal: controller.signal,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const body = await readCapped(res.body, req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE, req.label);
    return { status: res.statusCode, headers: res.headers, body };
  } catch (error) {
    if (req.signal?.aborted) throw abortError(req.signal, req.label);
    if (controller.signal.aborted) throw timeout;
    if (error instanceof GenguardError) throw error;
    throw new GenguardError('remote_unavailable', `${req.label}: could not reach ${req.url.host}: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      throw new GenguardError('invalid_response', `${label}: response larger than ${max} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? ((error.cause as { code?: unknown }).code ?? error.cause.message) : undefined;
  return [typeof code === 'string' ? code : undefined, typeof cause === 'string' ? cause : undefined, error.message]
    .filter(Boolean)
    .join(': ');
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), if present and sane. */
export function retryAfterHeader(headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - nowMs) / 1000);
}

/** Parses a JSON body; anything unparsable is a retryable `invalid_response` (a proxy page, a cut body). */
export function parseJson(body: Buffer, label: string): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    // The parser's message quotes the body; it is left out so nothing the server echoed leaks.
    throw new GenguardError('invalid_response', `${label}: response is not valid JSON`);
  }
}

export function optionalRetryAfter(seconds: number | undefined): { retryAfterSeconds?: number } {
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

/** Base URL with a trailing slash, so relative paths resolve under any path prefix it carries. */
export function withTrailingSlash(base: string): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
