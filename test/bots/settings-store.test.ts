import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SettingsStore } from '../../src/bots/shared/guild-settings.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { uniquePrefix } from '../queue/helpers/fakes.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';

/**
 * SettingsStore.update under contention, on a real Redis: two bot processes (two connections,
 * two stores) changing the same server's settings at once must not lose each other's changes.
 */

const redis = new TestRedis();
let a: Redis;
let b: Redis;
let prefix: string;

beforeAll(async () => {
  await redis.start();
  a = redis.client();
  b = redis.client();
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await redis.destroy();
});
beforeEach(() => {
  prefix = uniquePrefix('settings');
});
afterEach(() => deletePrefix(a, prefix));

describe('SettingsStore.update', () => {
  it('keeps every change when two stores on separate connections update the same server concurrently', async () => {
    const storeA = new SettingsStore({ redis: a, prefix });
    const storeB = new SettingsStore({ redis: b, prefix });
    const watch = (store: SettingsStore, channel: string) =>
      store.update('discord', 'g1', (s) => ({ ...s, watchedChannels: [...s.watchedChannels, channel] }));

    const channels = (name: string) => Array.from({ length: 10 }, (_, i) => `${name}-${i}`);
    await Promise.all([
      ...channels('a').map((c) => watch(storeA, c)),
      ...channels('b').map((c) => watch(storeB, c)),
    ]);

    const stored = await new SettingsStore({ redis: a, prefix }).get('discord', 'g1');
    expect(stored.watchedChannels).toHaveLength(20);
    expect(new Set(stored.watchedChannels)).toEqual(new Set([...channels('a'), ...channels('b')]));
  });

  it('creates the key on first update and keeps the defaults of a never-configured server', async () => {
    const store = new SettingsStore({ redis: a, prefix, defaults: { watchAll: true, mode: 'thread' } });
    const next = await store.update('slack', 'T1', (s) => ({ ...s, alertChannel: 'C9' }));
    expect(next).toMatchObject({ watchAll: true, mode: 'thread', alertChannel: 'C9' });
    expect(await store.get('slack', 'T1')).toEqual(next);
  });

  it('gives up with a retryable GenguardError when the key changes under every attempt', async () => {
    const store = new SettingsStore({ redis: a, prefix });
    const key = `${prefix}:settings:discord:g2`;
    let calls = 0;
    let interloper = Promise.resolve();
    // Another writer rewrites the key between every read and compare. It goes through the
    // store's own connection because Redis runs one connection's commands in order, so the SET
    // sent from inside `change` lands before the compare-and-set that follows it; from another
    // connection the order would be up to the server and the test could flake.
    const error = await store
      .update('discord', 'g2', (s) => {
        calls++;
        interloper = a.set(key, JSON.stringify({ ...s, watchedChannels: [`other-${calls}`] })).then(() => undefined);
        return { ...s, watchedChannels: ['mine'] };
      })
      .catch((e: unknown) => e);
    await interloper;

    expect(error).toBeInstanceOf(GenguardError);
    expect(error).toMatchObject({ code: 'platform_error', retryable: true, details: { attempts: 20 } });
    expect(calls).toBe(20);
    expect((await store.get('discord', 'g2')).watchedChannels).toEqual(['other-20']);
  });

  it('refuses settings that fail the schema without retrying or writing', async () => {
    const store = new SettingsStore({ redis: a, prefix });
    let calls = 0;
    const error = await store
      .update('discord', 'g3', (s) => {
        calls++;
        return { ...s, alertThreshold: 2 };
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'usage' });
    expect(calls).toBe(1);
    expect(await a.exists(`${prefix}:settings:discord:g3`)).toBe(0);
  });
});
