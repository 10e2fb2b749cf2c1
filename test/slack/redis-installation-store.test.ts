import { randomBytes } from 'node:crypto';
import type { Installation } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisInstallationStore } from '../../src/bots/slack/redis-installation-store.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { uniquePrefix } from '../queue/helpers/fakes.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';

const redis = new TestRedis();
let client: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  await redis.start();
  client = redis.client();
});
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await deletePrefix(client, prefix);
});
afterAll(async () => {
  client.disconnect();
  await redis.destroy();
});

const BOT_TOKEN = 'xoxb-1111-2222-secretbotsecretbot';

function installation(teamId: string, token = BOT_TOKEN): Installation<'v2', false> {
  return {
    team: { id: teamId, name: 'Team' },
    enterprise: undefined,
    user: { token: undefined, scopes: undefined, id: 'U1' },
    bot: { token, scopes: ['chat:write'], id: 'B1', userId: 'UB1' },
    isEnterpriseInstall: false,
    authVersion: 'v2',
  };
}

const query = (teamId: string) => ({ teamId, enterpriseId: undefined, isEnterpriseInstall: false as const });

function store(encryptionKey?: Buffer, prefix = uniquePrefix('install')): RedisInstallationStore & { prefix: string } {
  prefixes.push(prefix);
  return Object.assign(new RedisInstallationStore({ redis: client, prefix, encryptionKey }), { prefix });
}

const keyOf = (prefix: string, teamId: string) => `${prefix}:slack:installation:team:${teamId}`;

async function undecryptable(promise: Promise<unknown>): Promise<GenguardError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GenguardError);
  const g = error as GenguardError;
  expect(g.code).toBe('config_invalid');
  expect(g.message).toContain('cannot be decrypted with GENGUARD_ENCRYPTION_KEY');
  expect(g.message).toMatch(/restore the key .* or reinstall/);
  expect(g.details?.['reason']).toBe('installation_undecryptable');
  return g;
}

describe('RedisInstallationStore with GENGUARD_ENCRYPTION_KEY', () => {
  it('round-trips an installation, sealed with AES-256-GCM and a fresh IV per write, no token in Redis', async () => {
    const s = store(randomBytes(32));
    await s.storeInstallation(installation('T1'));
    expect(await s.fetchInstallation(query('T1'))).toEqual(installation('T1'));

    const raw = (await client.get(keyOf(s.prefix, 'T1')))!;
    expect(raw).not.toContain('xoxb');
    expect(raw).not.toContain('secretbot');
    const sealed = JSON.parse(raw) as Record<string, string | number>;
    expect(Object.keys(sealed).sort()).toEqual(['alg', 'data', 'iv', 'tag', 'v']);
    expect(sealed).toMatchObject({ v: 1, alg: 'A256GCM' });
    expect(Buffer.from(sealed['iv'] as string, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed['tag'] as string, 'base64')).toHaveLength(16);

    await s.storeInstallation(installation('T1'));
    const again = JSON.parse((await client.get(keyOf(s.prefix, 'T1')))!) as Record<string, string>;
    expect(again['iv']).not.toBe(sealed['iv']);
    expect(again['data']).not.toBe(sealed['data']);
  });

  it('reads a plain value stored before the key was set, and rewrites it encrypted', async () => {
    const key = randomBytes(32);
    const plain = store(undefined);
    await plain.storeInstallation(installation('T1'));
    expect(await client.get(keyOf(plain.prefix, 'T1'))).toContain(BOT_TOKEN);

    const s = store(key, plain.prefix);
    expect((await s.find(query('T1')))?.bot?.token).toBe(BOT_TOKEN);
    const raw = (await client.get(keyOf(s.prefix, 'T1')))!;
    expect(raw).not.toContain(BOT_TOKEN);
    expect(JSON.parse(raw)).toMatchObject({ v: 1, alg: 'A256GCM' });
    expect((await s.find(query('T1')))?.bot?.token).toBe(BOT_TOKEN);
  });

  it('does not let the migration overwrite an installation written since the read', async () => {
    const s = store(randomBytes(32));
    const redisKey = keyOf(s.prefix, 'T1');
    await client.set(redisKey, JSON.stringify(installation('T1', 'xoxb-old')));
    // The fresh install lands between the read and the rewrite.
    const get = client.get.bind(client);
    client.get = (async (k: string) => {
      const value = await get(k);
      if (k === redisKey) await s.storeInstallation(installation('T1', 'xoxb-new'));
      return value;
    }) as typeof client.get;
    try {
      expect((await s.find(query('T1')))?.bot?.token).toBe('xoxb-old');
    } finally {
      client.get = get;
    }
    expect((await s.find(query('T1')))?.bot?.token).toBe('xoxb-new');
  });

  it('refuses a value sealed with another key, with a typed error rather than "not installed"', async () => {
    const writer = store(randomBytes(32));
    await writer.storeInstallation(installation('T1'));
    const reader = store(randomBytes(32), writer.prefix);
    await undecryptable(reader.find(query('T1')));
    const error = await undecryptable(reader.fetchInstallation(query('T1')));
    expect(error.message).toContain('T1');
    expect(error.message).not.toContain('not installed');
  });

  it('refuses a value copied under another workspace’s key, or altered', async () => {
    const s = store(randomBytes(32));
    await s.storeInstallation(installation('T1'));
    const raw = (await client.get(keyOf(s.prefix, 'T1')))!;
    await client.set(keyOf(s.prefix, 'T2'), raw);
    await undecryptable(s.find(query('T2')));
    expect((await s.find(query('T1')))?.team?.id).toBe('T1');

    const sealed = JSON.parse(raw) as Record<string, string>;
    const data = Buffer.from(sealed['data']!, 'base64');
    data[0]! ^= 1;
    await client.set(keyOf(s.prefix, 'T1'), JSON.stringify({ ...sealed, data: data.toString('base64') }));
    await undecryptable(s.find(query('T1')));
    // A shortened tag would weaken GCM: refused as malformed, not tried.
    await client.set(keyOf(s.prefix, 'T1'), JSON.stringify({ ...sealed, tag: sealed['tag']!.slice(0, 8) }));
    await undecryptable(s.find(query('T1')));
  });

  it('without a key: plain JSON as before, and an encrypted value is a typed error', async () => {
    const sealedStore = store(randomBytes(32));
    await sealedStore.storeInstallation(installation('T1'));
    const s = store(undefined, sealedStore.prefix);
    expect(s.encrypted).toBe(false);
    const error = await undecryptable(s.fetchInstallation(query('T1')));
    expect(error.message).toContain('no key is set');

    await s.storeInstallation(installation('T2'));
    expect(JSON.parse((await client.get(keyOf(s.prefix, 'T2')))!)).toEqual(installation('T2'));
    expect((await s.find(query('T2')))?.bot?.token).toBe(BOT_TOKEN);
    await s.deleteInstallation(query('T2'));
    expect(await s.find(query('T2'))).toBeUndefined();
  });

  it('rejects a key that is not 32 bytes', () => {
    expect(() => new RedisInstallationStore({ redis: client, prefix: 'x', encryptionKey: randomBytes(16) })).toThrow(GenguardError);
  });
});
