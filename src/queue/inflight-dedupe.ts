import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { GenguardError, isGenguardError, type ErrorCode } from '../errors/genguard-error.js';

export interface InflightDedupeOptions {
  redis: Redis;
  /** Lock lifetime; renewed every third of it while the holder runs, so a killed holder frees it within this. */
  lockTtlMs?: number;
  /** How long the outcome stays readable for the jobs that waited. */
  outcomeTtlSeconds?: number;
  /** First and largest poll interval of a waiting job. */
  pollMs?: { min: number; max: number };
}

export interface DedupeKeys {
  lock: string;
  outcome: string;
}

type Outcome<T> = { ok: T } | { error: { code: ErrorCode; message: string } };

/** Returns [1, outcome] when published, [2] when this caller took the lock, [0] when someone holds it. */
const ACQUIRE = `
local o = redis.call('GET', KEYS[1])
if o then return {1, o} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {0}`;
/** Publishes (when ARGV[2] is not empty) and releases our lock, atomically. */
const FINISH = `
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * One computation per key across every worker: the first job takes a Redis lock (SET NX PX,
 * renewed while it runs) and publishes its outcome under a short-lived key; concurrent jobs for
 * the same key poll for that outcome instead of running the models. A holder that dies lets its
 * lock lapse and one waiter takes over. Non-retryable failures are shared too (the same image
 * fails the same way); retryable ones are not, so a waiter tries itself.
 */
export class InflightDedupe {
  readonly #redis: Redis;
  readonly #lockTtlMs: number;
  readonly #outcomeTtlSeconds: number;
  readonly #poll: { min: number; max: number };

  constructor(options: InflightDedupeOptions) {
    this.#redis = options.redis;
    this.#lockTtlMs = options.lockTtlMs ?? 10_000;
    this.#outcomeTtlSeconds = options.outcomeTtlSeconds ?? 120;
    this.#poll = options.pollMs ?? { min: 20, max: 250 };
  }

  /**
   * Runs `compute` unless another worker already is (or just did) for `keys`.
   * `shared` tells whether the value came from another job's run.
   */
  async run<T>(
    keys: DedupeKeys,
    compute: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ value: T; shared: boolean }> {
    let wait = this.#poll.min;
    for (;;) {
      signal?.throwIfAborted();
      const token = randomUUID();
      const [state, raw] = (await this.#redis.eval(ACQUIRE, 2, keys.outcome, keys.lock, token, this.#lockTtlMs)) as [
        number,
        string | undefined,
      ];
      if (state === 1) return { value: this.#decode<T>(raw!), shared: true };
      if (state === 2) return { value: await this.#computeHolding(keys, token, compute), shared: false };
      await sleep(wait, undefined, signal ? { signal } : undefined);
      wait = Math.min(this.#poll.max, Math.round(wait * 1.5));
    }
  }

  async #computeHolding<T>(keys: DedupeKeys, token: string, compute: () => Promise<T>): Promise<T> {
    const renew = setInterval(() => {
      this.#redis.eval(RENEW, 1, keys.lock, token, this.#lockTtlMs).catch(() => undefined);
    }, Math.max(100, Math.floor(this.#lockTtlMs / 3)));
    let outcome: Outcome<T> | undefined;
    try {
      const value = await compute();
      outcome = { ok: value };
      return value;
    } catch (error) {
      if (isGenguardError(error) && !error.retryable) outcome = { error: { code: error.code, message: error.message } };
      throw error;
    } finally {
      clearInterval(renew);
      const published = outcome ? JSON.stringify(outcome) : '';
      const finish = this.#redis.eval(FINISH, 2, keys.outcome, keys.lock, token, published, this.#outcomeTtlSeconds);
      // A value must reach the waiters; a failure's release may lapse with the lock instead.
      if (outcome && 'ok' in outcome) await finish;
      else await finish.catch(() => undefined);
    }
  }

  #decode<T>(raw: string): T {
    const outcome = JSON.parse(raw) as Outcome<T>;
    if ('ok' in outcome) return outcome.ok;
    throw new GenguardError(outcome.error.code, outcome.error.message, { retryable: false });
  }
}
