import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { GenguardError } from '../errors/genguard-error.js';

/**
 * API keys, hashed at rest. A key is `gg_<id>_<secret>`: the id (12 hex characters) finds the
 * record, the secret (32 random bytes, base64url) is what makes it a key. Redis keeps only the
 * SHA-256 of the whole key — a plain hash is enough for a 256-bit random secret, where a slow
 * password hash would buy nothing — and the check compares digests in constant time.
 *
 * Revoked keys stay as tombstones (so `keys list` keeps the history and a revoked key gets 403,
 * not 401).
 */
const KEY_PATTERN = /^gg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const recordSchema = z.object({
  id: z.string(),
  name: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number().int(),
  /** Requests per minute; absent = GENGUARD_API_RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute: z.number().int().positive().optional(),
  revokedAt: z.number().int().optional(),
});
type StoredKey = z.infer<typeof recordSchema>;

/** A key's record without its digest: what `keys list` prints and requests carry. */
export type ApiKeyInfo = Omit<StoredKey, 'sha256'>;

export type KeyCheck =
  | { ok: true; key: ApiKeyInfo }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' };

export interface ApiKeyStoreOptions {
  redis: Pick<Redis, 'hget' | 'hset' | 'hgetall' | 'hsetnx'>;
  prefix: string;
  now?: () => number;
}

export const KEY_NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export class ApiKeyStore {
  readonly #o: ApiKeyStoreOptions;
  readonly #key: string;

  constructor(options: ApiKeyStoreOptions) {
    this.#o = options;
    this.#key = `${options.prefix}:apikeys`;
  }

  /** Creates a key; the plain key is returned once and never stored. Names are unique among live keys. */
  async create(name: string, options: { rateLimitPerMinute?: number } = {}): Promise<{ key: string; info: ApiKeyInfo }> {
    if (!KEY_NAME_PATTERN.test(name)) {
      throw new GenguardError('usage', `key name "${name}" must be 1–64 letters, digits, "_", ".", "@" or "-"`);
    }
    if ((await this.list()).some((k) => k.name === name && k.revokedAt === undefined)) {
      throw new GenguardError('usage', `a live key named "${name}" exists; revoke it first or pick another name`);
    }
    for (;;) {
      const id = randomBytes(6).toString('hex');
      const key = `gg_${id}_${randomBytes(32).toString('base64url')}`;
      const record: StoredKey = {
        id,
        name,
        sha256: digest(key),
        createdAt: (this.#o.now ?? Date.now)(),
        ...(options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute }),
      };
      // HSETNX: an id collision (1 in 2^48) just draws again.
      if (await this.#o.redis.hsetnx(this.#key, id, JSON.stringify(record))) return { key, info: publicInfo(record) };
    }
  }

  /** Revokes the live key with this id or name; undefined when there is none. */
  async revoke(idOrName: string): Promise<ApiKeyInfo | undefined> {
    const target = (await this.#all()).find((k) => k.revokedAt === undefined && (k.id === idOrName || k.name === idOrName));
    if (!target) return undefined;
    const revoked = { ...target, revokedAt: (this.#o.now ?? Date.now)() };
    await this.#o.redis.hset(this.#key, target.id, JSON.stringify(revoked));
    return publicInfo(revoked);
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.#all()).map(publicInfo).sort((a, b) => a.createdAt - b.createdAt);
  }

  async verify(presented: string | undefined): Promise<KeyCheck> {
    if (!presented) return { ok: false, reason: 'missing' };
    const m = KEY_PATTERN.exec(presented);
    if (!m?.[1]) return { ok: false, reason: 'malformed' };
    const record = parseRecord(await this.#o.redis.hget(this.#key, m[1]));
    if (!record) return { ok: false, reason: 'unknown' };
    const expected = Buffer.from(record.sha256, 'hex');
    const actual = Buffer.from(digest(presented), 'hex');
    if (!timingSafeEqual(expected, actual)) return { ok: false, reason: 'unknown' };
    if (record.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
    return { ok: true, key: publicInfo(record) };
  }

  async #all(): Promise<StoredKey[]> {
    const all = await this.#o.redis.hgetall(this.#key);
    return Object.values(all).flatMap((raw) => {
      const record = parseRecord(raw);
      return record ? [record] : [];
    });
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function parseRecord(raw: string | null | undefined): StoredKey | undefined {
  if (!raw) return undefined;
  try {
    const parsed = recordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function publicInfo(record: StoredKey): ApiKeyInfo {
  const { sha256: _digest, ...info } = record;
  return info;
}
