import { GenguardError } from '../../errors/genguard-error.js';
import type { Clock } from './remote-deps.js';
import { abortError } from './retry.js';

/**
 * A request budget shared by everything that calls one vendor with one key (Bijou: 100 requests
 * per minute). Implementations: InProcessRateLimiter (one process) and RedisRateLimiter (several
 * workers); the queue may add its own BullMQ limit on top.
 */
export interface RateLimiter {
  /** Takes one slot and returns 0 when one is free; otherwise takes nothing and returns ms until one may free up. */
  tryTake(): Promise<number>;
}

/** Sliding-window log: exact, and small at 100 entries. */
export class InProcessRateLimiter implements RateLimiter {
  private readonly stamps: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit > 0) || !(windowMs > 0)) throw new RangeError('rate limit and window must be positive');
  }

  tryTake(): Promise<number> {
    const now = this.now();
    while (this.stamps.length > 0 && (this.stamps[0] ?? 0) <= now - this.windowMs) this.stamps.shift();
    if (this.stamps.length < this.limit) {
      this.stamps.push(now);
      return Promise.resolve(0);
    }
    return Promise.resolve(Math.max(1, (this.stamps[0] ?? now) + this.windowMs - now));
  }
}

const shared = new Map<string, InProcessRateLimiter>();

/** One limiter per key per process, so several backend instances of one process share a budget. */
export function sharedInProcessLimiter(key: string, limit: number, windowMs: number): InProcessRateLimiter {
  const id = `${key}|${limit}|${windowMs}`;
  let limiter = shared.get(id);
  if (limiter === undefined) {
    limiter = new InProcessRateLimiter(limit, windowMs);
    shared.set(id, limiter);
  }
  return limiter;
}

/**
 * Waits for a slot. A wait longer than what is left of the call's deadline ends with a retryable
 * `rate_limited` error carrying the wait, so the queue can delay the job instead of a worker idling.
 */
export async function acquireSlot(
  limiter: RateLimiter,
  options: { clock: Clock; remainingMs: () => number; signal?: AbortSignal | undefined; label: string },
): Promise<void> {
  for (;;) {
    const wait = await limiter.tryTake();
    if (wait <= 0) return;
    if (wait >= options.remainingMs()) {
      throw new GenguardError('rate_limited', `${options.label}: local request budget exhausted`, {
        retryAfterSeconds: Math.ceil(wait / 1000),
        details: { source: 'client_limiter' },
      });
    }
    try {
      await options.clock.sleep(wait, options.signal);
    } catch (error) {
      if (options.signal?.aborted) throw abortError(options.signal, options.label);
      throw error;
    }
  }
}
