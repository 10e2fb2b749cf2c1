import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './queue-layout.js';

/** `busy` carries how long the other attempt's claim still runs (it lapses then if that attempt died). */
export type ClaimResult = { state: 'claimed'; token: string } | { state: 'done' } | { state: 'busy'; remainingMs: number };

const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v == 'done' then return 'done' end
if v then return 'busy:' .. redis.call('PTTL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'claimed'`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface NotifyLedgerOptions {
  redis: Redis;
  keys: RedisKeys;
  /** How long a claimed step may take before another attempt may take over. */
  claimTtlMs?: number;
  /** How long "posted" is remembered (any retry or re-enqueue of the scan comes sooner). */
  doneTtlSeconds?: number;
}

/**
 * Per-scan, per-step record ("reply", "alert") that makes posting idempotent. A step is claimed
 * with SET NX before posting and marked done after; a failed post releases the claim so the
 * retry can post. Only a worker that dies between posting and marking leaves a window, closed
 * on Discord by passing the step's idempotency key as the message nonce, and on Slack by the key
 * in the message metadata, looked for before a retry posts (src/bots/slack/posted-message.ts).
 */
export class NotifyLedger {
  readonly #o: Required<NotifyLedgerOptions>;

  constructor(options: NotifyLedgerOptions) {
    this.#o = { claimTtlMs: 60_000, doneTtlSeconds: 86_400, ...options };
  }

  get claimTtlMs(): number {
    return this.#o.claimTtlMs;
  }

  async claim(scanId: string, step: string): Promise<ClaimResult> {
    const token = randomUUID();
    const state = (await this.#o.redis.eval(CLAIM, 1, this.#key(scanId, step), token, this.#o.claimTtlMs)) as string;
    if (state === 'claimed') return { state, token };
    if (state === 'done') return { state: 'done' };
    const remainingMs = Number(state.slice('busy:'.length));
    return { state: 'busy', remainingMs: Number.isFinite(remainingMs) && remainingMs > 0 ? remainingMs : this.#o.claimTtlMs };
  }

  async markDone(scanId: string, step: string): Promise<void> {
    await this.#o.redis.set(this.#key(scanId, step), 'done', 'EX', this.#o.doneTtlSeconds);
  }

  async release(scanId: string, step: string, token: string): Promise<void> {
    await this.#o.redis.eval(RELEASE, 1, this.#key(scanId, step), token);
  }

  /** The idempotency key handed to the notifier: stable per deployment, scan and step. */
  idempotencyKey(scanId: string, step: string): string {
    return createHash('sha256').update(`${this.#o.keys.prefix}\u0000${scanId}\u0000${step}`).digest('hex').slice(0, 24);
  }

  #key(scanId: string, step: string): string {
    return this.#o.keys.notifyStep(scanId, step);
  }
}
