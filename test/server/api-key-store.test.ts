import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../src/server/api-key-store.js';
import { decodeBase64 } from '../../src/server/detect-routes.js';
import { uniquePrefix } from '../queue/helpers/fakes.js';
import { TestRedis } from '../queue/helpers/redis-server.js';

const redis = new TestRedis();
let client: ReturnType<TestRedis['client']>;
beforeAll(async () => {
  await redis.start();
  client = redis.client();
});
afterAll(async () => {
  client.disconnect();
  await redis.destroy();
});

describe('ApiKeyStore', () => {
  it('keeps only a SHA-256 of each key in Redis and verifies the key it returned', async () => {
    const prefix = uniquePrefix('keys');
    const store = new ApiKeyStore({ redis: client, prefix, now: () => 1_700_000_000_000 });
    const { key, info } = await store.create('ci-bot', { rateLimitPerMinute: 10 });
    expect(key).toMatch(/^gg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(info).toEqual({ id: key.slice(3, 15), name: 'ci-bot', createdAt: 1_700_000_000_000, rateLimitPerMinute: 10 });
    const stored = Object.values(await client.hgetall(`${prefix}:apikeys`));
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toContain(key.slice(16));
    expect(JSON.parse(stored[0]!).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.verify(key)).toEqual({ ok: true, key: info });
  });

  it('tells missing, malformed, unknown (wrong secret, unknown id) and revoked keys apart', async () => {
    const store = new ApiKeyStore({ redis: client, prefix: uniquePrefix('keys') });
    const { key } = await store.create('a');
    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(await store.verify(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(await store.verify('Bearer nonsense')).toEqual({ ok: false, reason: 'malformed' });
    expect(await store.verify(flipped)).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.verify(`gg_000000000000_${key.slice(16)}`)).toEqual({ ok: false, reason: 'unknown' });
    await store.revoke('a');
    expect(await store.verify(key)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('keeps live names unique, revokes by id or name, and lists tombstones too', async () => {
    const store = new ApiKeyStore({ redis: client, prefix: uniquePrefix('keys') });
    const first = await store.create('grafana');
    await expect(store.create('grafana')).rejects.toMatchObject({ code: 'usage' });
    await expect(store.create('bad name!')).rejects.toMatchObject({ code: 'usage' });
    expect((await store.revoke(first.info.id))?.name).toBe('grafana');
    expect(await store.revoke(first.info.id)).toBeUndefined();
    const second = await store.create('grafana');
    const listed = await store.list();
    expect(listed.map((k) => [k.id, k.revokedAt === undefined])).toEqual([
      [first.info.id, false],
      [second.info.id, true],
    ]);
  });
});

describe('decodeBase64', () => {
  it('accepts standard and URL-safe base64 with or without a data: prefix and line breaks', () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 250, 251]);
    expect(decodeBase64(bytes.toString('base64'))).toEqual(bytes);
    expect(decodeBase64(bytes.toString('base64url'))).toEqual(bytes);
    expect(decodeBase64(`data:image/jpeg;base64,${bytes.toString('base64').replace(/(.{4})/g, '$1\n')}`)).toEqual(bytes);
  });

  it('refuses what is not base64 instead of decoding garbage', () => {
    for (const bad of ['', '   ', 'abc*', 'a', 'abcde', 'data:image/png;base64,', '====']) expect(decodeBase64(bad), bad).toBeUndefined();
  });
});
