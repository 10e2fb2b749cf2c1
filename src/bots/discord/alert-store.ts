import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { hammingDistance } from '../../queue/perceptual-hash.js';

/**
 * What the Discord adapter keeps in Redis besides the shared settings: the context of each
 * moderator alert (for its buttons), the images moderators dismissed as false positives (by
 * sha256 and perceptual hash, so reposts and re-encodes stay quiet), an audit trail of
 * moderator actions, and which result of an interaction got the `@original` edit.
 */

export interface AlertContext {
  scanId: string;
  guildId: string;
  channelId: string;
  messageId?: string;
  sha256?: string;
  phash?: string;
  score: number;
  createdAt: number;
}

export interface ImageHashes {
  sha256?: string | undefined;
  /** 16 hex characters (64-bit pHash). */
  phash?: string | undefined;
}

export interface AuditEntry {
  at: number;
  userId: string;
  action: 'deleted' | 'dismissed' | 'already_deleted' | 'denied';
  alertId: string;
  channelId: string;
  messageId?: string;
}

export interface AlertStoreOptions {
  redis: Redis;
  prefix: string;
  /** How long alert buttons keep working. */
  alertTtlSeconds?: number;
  /** Largest pHash distance that still counts as the dismissed picture (re-encodes move ≤ 4 bits). */
  maxPhashDistance?: number;
  auditLength?: number;
}

const DAY = 86_400;

export class AlertStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #maxDistance: number;
  readonly #auditLength: number;

  constructor(options: AlertStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}:discord`;
    this.#ttl = options.alertTtlSeconds ?? 30 * DAY;
    this.#maxDistance = options.maxPhashDistance ?? 6;
    this.#auditLength = options.auditLength ?? 1000;
  }

  async saveAlert(alertId: string, context: AlertContext): Promise<void> {
    await this.#redis.set(`${this.#prefix}:alert:${alertId}`, JSON.stringify(context), 'EX', this.#ttl);
  }

  async getAlert(alertId: string): Promise<AlertContext | undefined> {
    const raw = await this.#redis.get(`${this.#prefix}:alert:${alertId}`);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as AlertContext;
    } catch {
      return undefined;
    }
  }

  async dismiss(guildId: string, hashes: ImageHashes): Promise<void> {
    const multi = this.#redis.multi();
    if (hashes.sha256) multi.sadd(this.#dismissedKey(guildId, 'sha'), hashes.sha256);
    if (hashes.phash && /^[0-9a-f]{16}$/.test(hashes.phash)) multi.sadd(this.#dismissedKey(guildId, 'ph'), hashes.phash);
    await multi.exec();
  }

  /** Whether moderators of this server dismissed this picture (same bytes, or a near-identical copy). */
  async isDismissed(guildId: string, hashes: ImageHashes): Promise<boolean> {
    if (hashes.sha256 && (await this.#redis.sismember(this.#dismissedKey(guildId, 'sha'), hashes.sha256)) === 1) return true;
    const phash = hashes.phash;
    if (!phash || !/^[0-9a-f]{16}$/.test(phash)) return false;
    // Per-server dismissals are few (moderators click them), so a scan of the set is cheap.
    const known = await this.#redis.smembers(this.#dismissedKey(guildId, 'ph'));
    return known.some((other) => hammingDistance(phash, other) <= this.#maxDistance);
  }

  async audit(guildId: string, entry: AuditEntry): Promise<void> {
    const key = `${this.#prefix}:audit:${guildId}`;
    await this.#redis.multi().lpush(key, JSON.stringify(entry)).ltrim(key, 0, this.#auditLength - 1).exec();
  }

  async auditTrail(guildId: string, count = 50): Promise<AuditEntry[]> {
    const raw = await this.#redis.lrange(`${this.#prefix}:audit:${guildId}`, 0, count - 1);
    return raw.map((r) => JSON.parse(r) as AuditEntry);
  }

  /**
   * Claims the `@original` reply of an interaction for one scan: true for the first result of
   * it (which edits "thinking…" into the verdict) and for retries of that same scan, false for
   * the other scans of the interaction (they post follow-ups).
   */
  async claimOriginal(interactionToken: string, scanId: string): Promise<boolean> {
    const key = `${this.#prefix}:ix:${createHash('sha256').update(interactionToken).digest('hex').slice(0, 32)}`;
    const ok = await this.#redis.set(key, scanId, 'EX', 16 * 60, 'NX');
    return ok === 'OK' || (await this.#redis.get(key)) === scanId;
  }

  #dismissedKey(guildId: string, kind: 'sha' | 'ph'): string {
    return `${this.#prefix}:dismissed:${guildId}:${kind}`;
  }
}
