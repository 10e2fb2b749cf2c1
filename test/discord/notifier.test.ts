import { REST } from 'discord.js';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertStore } from '../../src/bots/discord/alert-store.js';
import { DiscordNotifier } from '../../src/bots/discord/discord-notifier.js';
import { SettingsStore } from '../../src/bots/shared/guild-settings.js';
import { classify, type DetectionResult } from '../../src/detector/result.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ErrorNotifyJob, NotifyContext, ResultNotifyJob } from '../../src/queue/notifier.js';
import { scanJobSchema, type ScanJobInput } from '../../src/queue/scan-job.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { uniquePrefix } from '../queue/helpers/fakes.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';
import { makeGuild } from './harness.js';

/**
 * The Notifier alone, against the fake Discord's REST API (no gateway): the paths end-to-end
 * tests cannot reach cheaply — expired interaction tokens, vanished messages, refusals.
 */

const redis = new TestRedis();
let fake: FakeDiscord;
let client: Redis;
let prefix: string;
let notifier: DiscordNotifier;
let settings: SettingsStore;
let clock = Date.now();
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  await redis.start();
  fake = new FakeDiscord({ guilds: [makeGuild()] });
  await fake.start();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  client.disconnect();
  await fake.stop();
  await redis.destroy();
});
beforeEach(() => {
  prefix = uniquePrefix('dnotify');
  clock = Date.now();
  logs.length = 0;
  settings = new SettingsStore({ redis: client, prefix });
  const rest = new REST({ api: fake.apiBase, globalRequestsPerSecond: 10_000, retries: 1 }).setToken(fake.token);
  notifier = new DiscordNotifier({
    rest,
    settings,
    alerts: new AlertStore({ redis: client, prefix }),
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    maxBytes: 10 * 1024 * 1024,
    now: () => clock,
  });
});
afterEach(() => deletePrefix(client, prefix));

function result(score: number): DetectionResult {
  return { ...classify(score), ensemble_score: score, models_succeeded: 1, models_total: 1, model_results: { m: { score, latency_ms: 1 } }, detection_latency_ms: 4 };
}

function scan(overrides: Partial<ScanJobInput> = {}) {
  const channel = fake.channel('general');
  return scanJobSchema.parse({
    id: `scan-${Math.random().toString(36).slice(2)}`,
    platform: 'discord',
    workspaceId: fake.guild().id,
    channelId: channel.id,
    media: { url: 'https://cdn.discordapp.com/attachments/1/2/x.png', fileName: 'x.png' },
    requestedBy: { trigger: 'auto' },
    reply: { kind: 'channel', channelId: channel.id },
    requestedAt: clock,
    ...overrides,
  });
}

const ctx = (key = 'a'.repeat(24)): NotifyContext => ({ idempotencyKey: key, attempt: 1, signal: new AbortController().signal });

function resultJob(s: ReturnType<typeof scan>, score = 0.9): ResultNotifyJob {
  return { kind: 'result', scan: s, result: result(score), alert: score >= 0.7, alertThreshold: 0.7, backend: 'local', modelSetVersion: 'v', finishedAt: clock };
}

function interactionScan(userId: string) {
  const i = fake.interact({ type: 2, data: { id: '1', name: 'aicheck', type: 1 }, member: fake.member('alice'), channel: fake.channel('random') });
  return {
    i,
    s: scan({
      requestedBy: { trigger: 'slash_command', userId },
      reply: { kind: 'interaction', applicationId: fake.applicationId, interactionToken: i.token, ephemeral: true },
    }),
  };
}

describe('DiscordNotifier', () => {
  it('sends a result that comes after the 15-minute token lifetime by DM', async () => {
    const alice = fake.member('alice').user.id;
    const { i, s } = interactionScan(alice);
    clock += 16 * 60_000;
    await notifier.reply(resultJob(s), ctx());
    const dm = fake.sent.filter((m) => m.via === 'dm').at(-1)!;
    expect(dm.channelId).toBe(`dm${alice}`);
    expect(dm.body.content).toMatch(/took longer than Discord lets me answer there/);
    expect(dm.body.embeds[0].title).toBe('🔴 Likely AI-generated');
    expect(dm.body.allowed_mentions.parse).toEqual([]);
    expect(i.edits).toHaveLength(0);
  });

  it('falls back to a DM when Discord says the token expired (401 50027) and keeps its bot token', async () => {
    const alice = fake.member('alice').user.id;
    const { i, s } = interactionScan(alice);
    fake.expireInteraction(i.token);
    const before = fake.sent.filter((m) => m.via === 'dm').length;
    await notifier.reply(resultJob(s, 0.2), ctx());
    expect(fake.sent.filter((m) => m.via === 'dm')).toHaveLength(before + 1);
    // The 401 came on a webhook route sent without the bot token, so the REST client still has it.
    await notifier.reply(resultJob(scan(), 0.2), ctx('b'.repeat(24)));
    expect(fake.requests.at(-1)!.status).toBe(200);
  });

  it('follows up when the deferred reply is gone, and follows up for the second result of one interaction', async () => {
    const { i, s } = interactionScan(fake.member('alice').user.id);
    await notifier.reply(resultJob(s), ctx()); // never deferred: @original is unknown (10008)
    expect(i.followUps).toHaveLength(1);
    expect(i.followUps[0].flags).toBe(64);

    const second = interactionScan(fake.member('alice').user.id);
    second.i.original = { id: '42', channel_id: fake.channel('random').id, flags: 0 };
    await notifier.reply(resultJob(second.s), ctx());
    await notifier.reply(resultJob({ ...second.s, id: `${second.s.id}-2` }), ctx());
    // A retry of the first scan edits again rather than posting a duplicate follow-up.
    await notifier.reply(resultJob(second.s), ctx());
    expect(second.i.edits).toHaveLength(2);
    expect(second.i.followUps).toHaveLength(1);
  });

  it('reports internal errors with an id, and actionable ones in plain words', async () => {
    const s = scan();
    const internal: ErrorNotifyJob = { kind: 'error', scan: s, error: { code: 'inference_failed', message: 'onnx exploded', retryable: false }, attempts: 1, finishedAt: clock };
    await notifier.reply(internal, ctx());
    const text: string = fake.sent.at(-1)!.body.content;
    const id = /error id: `([0-9a-f]{8})`/.exec(text)?.[1];
    expect(id).toBeDefined();
    expect(text).not.toContain('onnx');
    expect(logs.some((l) => l.errorId === id && l.reason === 'onnx exploded' && l.level === 50)).toBe(true);

    await notifier.reply({ ...internal, error: { code: 'out_of_credits', message: 'HTTP 402', retryable: false } }, ctx());
    expect(fake.sent.at(-1)!.body.content).toBe('⚠️ **x.png**: The detection service has run out of credits. Please tell the server admins.');
  });

  it('automatic scans: silent about internal errors, quiet when the message vanished before the reaction', async () => {
    const posted = fake.postMessage({ channelId: fake.channel('general').id, author: fake.member('alice').user });
    const s = scan({ messageId: posted.id, reply: { kind: 'message_reply', channelId: posted.channel_id, messageId: posted.id } });
    const count = fake.sent.length;
    await notifier.reply({ kind: 'error', scan: s, error: { code: 'internal', message: 'x', retryable: false }, attempts: 1, finishedAt: clock }, ctx());
    expect(fake.sent).toHaveLength(count);

    await settings.update('discord', fake.guild().id, (x) => ({ ...x, mode: 'react' }));
    const gone = scan({ messageId: '999', reply: { kind: 'message_reply', channelId: posted.channel_id, messageId: '999' } });
    await expect(notifier.reply(resultJob(gone), ctx())).resolves.toBeUndefined();
    await notifier.reply(resultJob(s, 0.1), ctx());
    expect(fake.reactions.at(-1)).toEqual({ channelId: posted.channel_id, messageId: posted.id, emoji: '🟢' });
  });

  it('maps refusals to non-retryable errors and outages to retryable ones', async () => {
    const channel = fake.channel('general').id;
    fake.failNext('POST', new RegExp(`^/channels/${channel}/messages$`), { status: 403, body: { message: 'Missing Permissions', code: 50013 } });
    const denied = await notifier.reply(resultJob(scan()), ctx()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(GenguardError);
    expect(denied).toMatchObject({ code: 'permission_denied', retryable: false });

    fake.failNext('POST', new RegExp(`^/channels/${channel}/messages$`), { status: 502, body: { message: 'Bad Gateway', code: 0 } }, 5);
    const outage = await notifier.reply(resultJob(scan()), ctx()).catch((e: unknown) => e);
    expect(outage).toMatchObject({ code: 'platform_error', retryable: true });
  });

  it('alerts only in the configured channel, at the server threshold, and not for private uploads', async () => {
    const alerts = fake.channel('mod-alerts').id;
    const posted = fake.postMessage({ channelId: fake.channel('general').id, author: fake.member('alice').user });
    const s = scan({ messageId: posted.id });
    const count = () => fake.sent.filter((m) => m.channelId === alerts).length;
    await notifier.alert(resultJob(s), ctx());
    expect(count()).toBe(0); // no alert channel yet
    await settings.update('discord', fake.guild().id, (x) => ({ ...x, alertChannel: alerts, alertThreshold: 0.95 }));
    await notifier.alert(resultJob(s, 0.9), ctx());
    expect(count()).toBe(0); // below this server's threshold
    const { s: privateUpload } = interactionScan(fake.member('alice').user.id);
    await notifier.alert(resultJob(privateUpload, 0.99), ctx());
    expect(count()).toBe(0);
    await notifier.alert(resultJob(s, 0.99), ctx('c'.repeat(24)));
    expect(count()).toBe(1);
    const body = fake.sent.at(-1)!.body;
    expect(body.nonce).toBe('c'.repeat(24));
    expect(body.enforce_nonce).toBe(true);
    expect(body.components[0].components[0].custom_id).toBe(`gg:alert:delete:${'c'.repeat(24)}`);
  });
});
