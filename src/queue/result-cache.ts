import type { Redis } from 'ioredis';
import type { DetectionResult } from '../detector/result.js';
import { bandProbes, hammingDistance, hashBands, MIN_DETAIL, type PerceptualHash } from './perceptual-hash.js';
import type { RedisKeys } from './queue-layout.js';

/** One cached verdict. */
export interface CachedVerdict {
  result: DetectionResult;
  backend: string;
  sha256: string;
  /** Epoch ms when the models ran. */
  computedAt: number;
}

export interface ResultCacheOptions {
  redis: Redis;
  keys: RedisKeys;
  ttlSeconds: number;
  /** Largest Hamming distance for a perceptual match (0 = exact bytes only, max 7). */
  maxDistance: number;
  /** A near match must have an aspect ratio within this relative difference. */
  aspectTolerance?: number;
}

export interface SimilarHit {
  verdict: CachedVerdict;
  distance: number;
}

/**
 * Verdicts in Redis by the sha256 of the bytes and by perceptual hash, per model-set version
 * tag (new models → new keys, old verdicts simply expire). The perceptual index keeps, for each
 * of the four 16-bit bands of a hash, a set of `hash:aspect:sha256` members; a lookup probes each
 * band's value and its one-bit neighbours, then checks the full distance and shape.
 */
export class ResultCache {
  readonly #o: Required<ResultCacheOptions>;

  constructor(options: ResultCacheOptions) {
    this.#o = { aspectTolerance: 0.03, ...options };
  }

  async getExact(tag: string, sha256: string): Promise<CachedVerdict | null> {
    return parseVerdict(await this.#o.redis.get(this.#o.keys.cacheExact(tag, sha256)));
  }

  /** The nearest usable cached verdict for a perceptually similar picture, if any. */
  async findSimilar(tag: string, hash: PerceptualHash): Promise<SimilarHit | null> {
    if (!this.#usable(hash)) return null;
    const { redis, keys } = this.#o;
    const pipeline = redis.pipeline();
    hashBands(hash.hex).forEach((band, i) => {
      pipeline.sunion(...bandProbes(band).map((probe) => keys.cacheBand(tag, i, probe)));
    });
    const replies = (await pipeline.exec()) ?? [];
    const candidates = new Map<string, { distance: number; member: string }>();
    for (const [error, members] of replies) {
      if (error) throw error;
      for (const member of members as string[]) {
        const [hex, aspectMilli, sha] = member.split(':');
        if (!hex || !aspectMilli || !sha || candidates.has(sha)) continue;
        const distance = hammingDistance(hash.hex, hex);
        const aspect = Number(aspectMilli) / 1000;
        if (distance > this.#o.maxDistance) continue;
        if (Math.abs(aspect - hash.aspect) > this.#o.aspectTolerance * hash.aspect) continue;
        candidates.set(sha, { distance, member });
      }
    }
    const ordered = [...candidates.entries()].sort((a, b) => a[1].distance - b[1].distance);
    for (const [sha, { distance, member }] of ordered) {
      const verdict = await this.getExact(tag, sha);
      if (verdict) return { verdict, distance };
      // The verdict expired before the band sets did: forget the stale member.
      const drop = redis.pipeline();
      hashBands(member.slice(0, 16)).forEach((band, i) => drop.srem(keys.cacheBand(tag, i, band), member));
      await drop.exec();
    }
    return null;
  }

  async put(tag: string, verdict: CachedVerdict, hash?: PerceptualHash): Promise<void> {
    const { redis, keys, ttlSeconds } = this.#o;
    const pipeline = redis.multi();
    pipeline.set(keys.cacheExact(tag, verdict.sha256), JSON.stringify(verdict), 'EX', ttlSeconds);
    if (hash && this.#usable(hash)) {
      const member = `${hash.hex}:${Math.round(hash.aspect * 1000)}:${verdict.sha256}`;
      hashBands(hash.hex).forEach((band, i) => {
        const key = keys.cacheBand(tag, i, band);
        pipeline.sadd(key, member);
        pipeline.expire(key, ttlSeconds);
      });
    }
    await pipeline.exec();
  }

  #usable(hash: PerceptualHash): boolean {
    return this.#o.maxDistance > 0 && hash.detail >= MIN_DETAIL;
  }
}

function parseVerdict(raw: string | null): CachedVerdict | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as CachedVerdict;
    return typeof v?.result?.ensemble_score === 'number' ? v : null;
  } catch {
    return null;
  }
}
