import { GenguardError, toGenguardError } from '../../errors/genguard-error.js';
import type { Clock, RemoteLogger } from './remote-deps.js';

/**
 * Per-request retry policy of the remote clients. Kept small on purpose: the queue retries
 * retryable failures again at job level, so in-client retries only smooth over blips.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (at most `retries + 1` attempts). */
  retries: number;
  /** First backoff step; doubles each retry, with jitter. */
  baseDelayMs: number;
  /** Cap of one backoff step (not of a server-given Retry-After). */
  maxDelayMs: number;
  /** Timeout of one HTTP exchange, connect to last body byte. */
  attemptTimeoutMs: number;
  /** Budget for the whole call, waits included. A wait that would overrun it ends the call with the error. */
  deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 2,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  attemptTimeoutMs: 10_000,
  deadlineMs: 30_000,
};

export interface AttemptContext {
  /** 0 for the first attempt. */
  attempt: number;
  signal: AbortSignal | undefined;
  /** Milliseconds left of the deadline. */
  remainingMs(): number;
  /** Timeout for the next HTTP exchange: the attempt timeout, cut to the deadline. */
  exchangeTimeoutMs(): number;
}

export interface RetryOptions {
  policy: RetryPolicy;
  clock: Clock;
  signal?: AbortSignal | undefined;
  /** Backend name for messages and logs. */
  label: string;
  logger: RemoteLogger;
}

/** The error to throw when the caller's signal aborted. */
export function abortError(signal: AbortSignal, label: string): GenguardError {
  const reason: unknown = signal.reason;
  if (reason instanceof GenguardError) return reason;
  return new GenguardError('timeout', `${label}: request cancelled by the caller`, { retryable: false, cause: reason });
}

/** Equal jitter: half the exponential step fixed, half random, so retries never bunch at zero. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return step / 2 + random() * (step / 2);
}

export async function withRetries<T>(fn: (ctx: AttemptContext) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, clock, signal, label, logger } = options;
  const started = clock.now();
  const remainingMs = () => policy.deadlineMs - (clock.now() - started);
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortError(signal, label);
    const ctx: AttemptContext = {
      attempt,
      signal,
      remainingMs,
      exchangeTimeoutMs: () => Math.max(1, Math.min(policy.attemptTimeoutMs, remainingMs())),
    };
    try {
      return await fn(ctx);
    } catch (raw) {
      if (signal?.aborted) throw abortError(signal, label);
      const error = toGenguardError(raw, 'remote_error');
      if (!error.retryable || attempt >= policy.retries) throw error;
      const wait =
        error.retryAfterSeconds !== undefined
          ? error.retryAfterSeconds * 1000
          : backoffMs(attempt, policy, clock.random);
      if (wait >= remainingMs()) throw error;
      logger.debug(
        { backend: label, code: error.code, attempt: attempt + 1, wait_ms: Math.round(wait) },
        'remote call failed; retrying',
      );
      try {
        await clock.sleep(wait, signal);
      } catch (sleepError) {
        if (signal?.aborted) throw abortError(signal, label);
        throw sleepError;
      }
    }
  }
}
