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

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
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
      const published = await this.#read<T>(keys);
      if (published) return { value: published, shared: true };
      const token = randomUUID();
      const locked = await this.#redis.set(keys.lock, token, 'PX', this.#lockTtlMs, 'NX');
      if (locked === 'OK') {
        try {
          // The previous holder may have published and released between our read and our lock.
          const late = await this.#read<T>(keys);
          if (late) return { value: late, shared: true };
          return { value: await this.#computeHolding(keys, token, compute), shared: false };
        } finally {
          await this.#redis.eval(RELEASE, 1, keys.lock, token).catch(() => undefined);
        }
      }
      await sleep(wait, undefined, signal ? { signal } : undefined);
      wait = Math.min(this.#poll.max, Math.round(wait * 1.5));
    }
  }

  async #computeHolding<T>(keys: DedupeKeys, token: string, compute: () => Promise<T>): Promise<T> {
    const renew = setInterval(() => {
      this.#redis.eval(RENEW, 1, keys.lock, token, this.#lockTtlMs).catch(() => undefined);
    }, Math.max(100, Math.floor(this.#lockTtlMs / 3)));
    try {
      const value = await compute();
      await this.#publish<T>(keys, { ok: value });
      return value;
    } catch (error) {
      if (isGenguardError(error) && !error.retryable) {
        await this.#publish<T>(keys, { error: { code: error.code, message: error.message } }).catch(() => undefined);
      }
      throw error;
    } finally {
      clearInterval(renew);
    }
  }

  async #publish<T>(keys: DedupeKeys, outcome: Outcome<T>): Promise<void> {
    await this.#redis.set(keys.outcome, JSON.stringify(outcome), 'EX', this.#outcomeTtlSeconds);
  }

  async #read<T>(keys: DedupeKeys): Promise<T | null> {
    const raw = await this.#redis.get(keys.outcome);
    if (!raw) return null;
    const outcome = JSON.parse(raw) as Outcome<T>;
    if ('ok' in outcome) return outcome.ok;
    throw new GenguardError(outcome.error.code, outcome.error.message, { retryable: false });
  }
}
