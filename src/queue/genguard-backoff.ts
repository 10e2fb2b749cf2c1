import type { BackoffStrategy } from 'bullmq';
import { isGenguardError } from '../errors/genguard-error.js';

const MAX_DELAY_MS = 10 * 60_000;

/**
 * Exponential backoff with ±20 % jitter (so workers that failed together do not retry
 * together), never shorter than a remote's Retry-After. Registered as the `genguard` backoff
 * type on every worker.
 */
export function genguardBackoff(baseMs: number, random: () => number = Math.random): BackoffStrategy {
  return (attemptsMade, _type, error) => {
    const exponential = baseMs * 2 ** Math.max(0, attemptsMade - 1);
    const jittered = exponential * (0.8 + 0.4 * random());
    const retryAfterMs = isGenguardError(error) && error.retryAfterSeconds ? error.retryAfterSeconds * 1_000 : 0;
    return Math.round(Math.min(MAX_DELAY_MS, Math.max(jittered, retryAfterMs)));
  };
}
