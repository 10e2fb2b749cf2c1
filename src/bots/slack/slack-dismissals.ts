import type { Redis } from 'ioredis';
import { hammingDistance } from '../../queue/perceptual-hash.js';

export interface ImageHashes {
  sha256?: string | undefined;
  /** 16 hex characters (64-bit pHash). */
  phash?: string | undefined;
}

const SHA = /^[0-9a-f]{64}$/;
const PHASH = /^[0-9a-f]{16}$/;

/**
 * Pictures moderators dismissed as false positives, per workspace, by sha256 and perceptual
 * hash: a repost or re-encode of a dismissed picture still gets its verdict, but no new alert.
 */
export class SlackDismissals {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Largest pHash distance still counted as the dismissed picture (re-encodes move a few bits). */
    private readonly maxDistance = 6,
  ) {}

  #key(teamId: string, kind: 'sha' | 'ph'): string {
    return `${this.prefix}:slack:dismissed:${teamId}:${kind}`;
  }

  async dismiss(teamId: string, hashes: ImageHashes): Promise<void> {
    const multi = this.redis.multi();
    if (hashes.sha256 !== undefined && SHA.test(hashes.sha256)) multi.sadd(this.#key(teamId, 'sha'), hashes.sha256);
    if (hashes.phash !== undefined && PHASH.test(hashes.phash)) multi.sadd(this.#key(teamId, 'ph'), hashes.phash);
    await multi.exec();
  }

  async isDismissed(teamId: string, hashes: ImageHashes): Promise<boolean> {
    if (hashes.sha256 !== undefined && (await this.redis.sismember(this.#key(teamId, 'sha'), hashes.sha256)) === 1) return true;
    const phash = hashes.phash;
    if (phash === undefined || !PHASH.test(phash)) return false;
    // Dismissals are few (moderators click them), so comparing against all of them is cheap.
    const known = await this.redis.smembers(this.#key(teamId, 'ph'));
    return known.some((other) => hammingDistance(phash, other) <= this.maxDistance);
  }
}
