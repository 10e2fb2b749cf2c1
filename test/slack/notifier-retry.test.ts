import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST_EVENT_TYPE } from '../../src/bots/slack/posted-message.js';
import { SlackNotifier } from '../../src/bots/slack/slack-notifier.js';
import { createSlackSettingsStore } from '../../src/bots/slack/slack-settings.js';
import { SlackTokens } from '../../src/bots/slack/slack-tokens.js';
import type { NotifyContext, ResultNotifyJob } from '../../src/queue/notifier.js';
import { scanJobSchema, type ScanJobInput } from '../../src/queue/scan-job.js';
import { fakeResult } from '../queue/helpers/fakes.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import type { FakeChannel, FakeMessage, FakeTeam, FakeUser } from '../fakes/slack/fake-workspace.js';

/**
 * A notify step retried after the worker died between Slack accepting the post and the notify
 * ledger recording it: the retry (attempt > 1, same idempotency key) finds the message by its
 * metadata and does not post again. Against the fake Slack, through the real WebClient.
 */

const fake = new FakeSlack();
// Never read: these jobs are not automatic scans and name their alert channel.
const unusedRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
let scanCounter = 0;

beforeAll(() => fake.start());
afterAll(async () => {
  await fake.stop();
  unusedRedis.disconnect();
});

interface World {
  team: FakeTeam;
  botToken: string;
  general: FakeChannel;
  mods: FakeChannel;
  alice: FakeUser;
  notifier: SlackNotifier;
  logs: Array<Record<string, unknown>>;
}

function world(botScopes?: string[]): World {
  const ws = fake.workspaces;
  const { team, botToken } = ws.addTeam(botScopes ? { botScopes } : {});
  const alice = ws.addUser(team.id, { name: 'alice' });
  const general = ws.addChannel(team.id, { name: 'general', members: [alice.id] });
  const mods = ws.addChannel(team.id, { name: 'mod-alerts' });
  const logs: Array<Record<string, unknown>> = [];
  const notifier = new SlackNotifier({
    tokens: new SlackTokens({ botToken, clientOptions: {} }),
    settings: createSlackSettingsStore(unusedRedis, 'unused'),
    client: { apiUrl: fake.apiUrl },
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  });
  return { team, botToken, general, mods, alice, notifier, logs };
}

/** A result for an image alice posted in #general, answered where `reply` says. */
function job(w: World, reply: (posted: FakeMessage) => ScanJobInput['reply']): ResultNotifyJob {
  const posted = fake.postUserMessage(w.team.id, w.general.id, w.alice.id, { text: 'look' });
  scanCounter += 1;
  const scan = scanJobSchema.parse({
    id: `slack-retry-${scanCounter}`,
    platform: 'slack',
    workspaceId: w.team.id,
    channelId: w.general.id,
    messageId: posted.ts,
    authorId: w.alice.id,
    media: { url: 'https://files.slack.com/files-pri/T1-F1/download/a.png', fileName: 'a.png', auth: { kind: 'slack-bot', teamId: w.team.id } },
    requestedBy: { trigger: 'context_menu', userId: w.alice.id },
    reply: reply(posted),
    alertChannelId: w.mods.id,
    requestedAt: Date.now(),
  } satisfies ScanJobInput);
  return { kind: 'result', scan, result: fakeResult(0.93), alert: true, alertThreshold: 0.7, backend: 'local', modelSetVersion: 'm1', finishedAt: Date.now() };
}

const newKey = () => randomBytes(12).toString('hex');
const ctx = (idempotencyKey: string, attempt: number): NotifyContext => ({ idempotencyKey, attempt, signal: new AbortController().signal });
const botMessages = (channel: FakeChannel, threadTs?: string) =>
  channel.messages.filter((m) => m.bot_id !== undefined && (threadTs === undefined || m.thread_ts === threadTs));
const callsOf = (method: string, teamId: string) => fake.api.calls.filter((c) => c.method === method && c.teamId === teamId);

describe('Slack notifier retries', () => {
  it('find the thread reply an earlier attempt posted and do not post it again', async () => {
    const w = world();
    const notice = job(w, (posted) => ({ kind: 'thread', channelId: w.general.id, threadId: posted.ts }));
    const threadTs = notice.scan.messageId!;
    const key = newKey();

    await w.notifier.reply(notice, ctx(key, 1));
    // A first attempt looks for nothing: one post, carrying the key.
    expect(callsOf('conversations.replies', w.team.id)).toHaveLength(0);
    expect(botMessages(w.general, threadTs)).toEqual([expect.objectContaining({ metadata: { event_type: POST_EVENT_TYPE, event_payload: { key } } })]);

    // The worker died before recording the post: the retry comes with the same key.
    await w.notifier.reply(notice, ctx(key, 2));
    expect(botMessages(w.general, threadTs)).toHaveLength(1);
    expect(callsOf('chat.postMessage', w.team.id)).toHaveLength(1);
    const [lookup] = callsOf('conversations.replies', w.team.id);
    expect(lookup?.params).toMatchObject({ channel: w.general.id, ts: threadTs, include_all_metadata: 'true' });
    expect(w.logs.some((l) => String(l['msg']).includes('already posted'))).toBe(true);
  });

  it('find the moderator alert an earlier attempt posted in the channel history', async () => {
    const w = world();
    const notice = job(w, (posted) => ({ kind: 'message_reply', channelId: w.general.id, messageId: posted.ts }));
    const key = newKey();
    await w.notifier.alert(notice, ctx(key, 1));
    await w.notifier.alert(notice, ctx(key, 2));
    await w.notifier.alert(notice, ctx(key, 3));
    expect(botMessages(w.mods)).toHaveLength(1);
    const lookups = callsOf('conversations.history', w.team.id);
    expect(lookups).toHaveLength(2);
    // A short window: from shortly before the request, not the whole channel.
    expect(Number(lookups[0]?.params['oldest'])).toBeGreaterThan(Date.now() / 1000 - 3_600);
  });

  it('post on a retry when no message carries the key yet', async () => {
    const w = world();
    const notice = job(w, (posted) => ({ kind: 'thread', channelId: w.general.id, threadId: posted.ts }));
    const threadTs = notice.scan.messageId!;
    // The first attempt failed before Slack took the post (an outage): nothing to find.
    const key = newKey();
    await w.notifier.reply(notice, ctx(key, 2));
    expect(botMessages(w.general, threadTs)).toEqual([expect.objectContaining({ metadata: { event_type: POST_EVENT_TYPE, event_payload: { key } } })]);
    expect(callsOf('conversations.replies', w.team.id)).toHaveLength(1);

    // Another step's key (the alert, another scan) in the same place is not this one.
    await w.notifier.alert(notice, ctx(newKey(), 1));
    const alertKey = newKey();
    await w.notifier.alert(notice, ctx(alertKey, 2));
    expect(botMessages(w.mods)).toHaveLength(2);

    // A plain channel answer is looked for in the channel's history.
    const inChannel = job(w, () => ({ kind: 'channel', channelId: w.general.id }));
    await w.notifier.reply(inChannel, ctx(alertKey, 2));
    expect(botMessages(w.general).filter((m) => m.thread_ts === undefined)).toHaveLength(1);
  });

  it('post anyway when the look fails (no history scope, rate limit), warning once', async () => {
    const w = world(['files:read', 'chat:write', 'reactions:write', 'users:read']);
    const notice = job(w, (posted) => ({ kind: 'thread', channelId: w.general.id, threadId: posted.ts }));
    const threadTs = notice.scan.messageId!;
    await w.notifier.reply(notice, ctx(newKey(), 2));
    await w.notifier.reply(notice, ctx(newKey(), 3));
    expect(botMessages(w.general, threadTs)).toHaveLength(2);
    const lookups = callsOf('conversations.replies', w.team.id);
    expect(lookups).toHaveLength(2);
    const warnings = w.logs.filter((l) => Number(l['level']) === 40);
    expect(warnings).toEqual([expect.objectContaining({ reason: 'missing_scope', msg: expect.stringContaining('could not look for an earlier post') })]);

    const limited = world();
    const alert = job(limited, (posted) => ({ kind: 'thread', channelId: limited.general.id, threadId: posted.ts }));
    fake.api.failNext('conversations.history', { status: 429, headers: { 'retry-after': '30' }, body: { ok: false, error: 'ratelimited' } });
    await limited.notifier.alert(alert, ctx(newKey(), 2));
    expect(botMessages(limited.mods)).toHaveLength(1);
    expect(limited.logs.filter((l) => Number(l['level']) === 40)).toHaveLength(1);
  });
});

describe('fake Slack message metadata', () => {
  async function call(method: string, token: string, fields: Record<string, string>): Promise<Record<string, unknown>> {
    const response = await fetch(`${fake.apiUrl}${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return (await response.json()) as Record<string, unknown>;
  }

  it('validates metadata like Slack and returns its payload only with include_all_metadata', async () => {
    const w = world();
    const post = (metadata: string) => call('chat.postMessage', w.botToken, { channel: w.mods.id, text: 'hi', metadata });
    expect(await post('{not json')).toMatchObject({ ok: false, error: 'invalid_metadata_format' });
    expect(await post('"a string"')).toMatchObject({ ok: false, error: 'invalid_metadata_format' });
    expect(await post(JSON.stringify({ event_type: 'genguard_post' }))).toMatchObject({ ok: false, error: 'invalid_metadata_schema' });
    expect(await post(JSON.stringify({ event_type: 7, event_payload: {} }))).toMatchObject({ ok: false, error: 'invalid_metadata_schema' });
    // An event type Slack does not accept is dropped with a warning; the message is posted.
    const dotted = await post(JSON.stringify({ event_type: 'genguard.post', event_payload: { key: 'k' } }));
    expect(dotted).toMatchObject({ ok: true, warning: 'invalid_metadata_schema', response_metadata: { warnings: ['invalid_metadata_schema'] } });
    expect(w.mods.messages.at(-1)?.metadata).toBeUndefined();

    const ok = await post(JSON.stringify({ event_type: 'genguard_post', event_payload: { key: 'k1' } }));
    expect(ok).toMatchObject({ ok: true, message: { metadata: { event_type: 'genguard_post' } } });
    expect((ok['message'] as FakeMessage).metadata).not.toHaveProperty('event_payload');

    const plain = await call('conversations.history', w.botToken, { channel: w.mods.id, limit: '1' });
    expect((plain['messages'] as FakeMessage[])[0]?.metadata).toEqual({ event_type: 'genguard_post' });
    const all = await call('conversations.history', w.botToken, { channel: w.mods.id, limit: '1', include_all_metadata: 'true' });
    expect((all['messages'] as FakeMessage[])[0]?.metadata).toEqual({ event_type: 'genguard_post', event_payload: { key: 'k1' } });
    expect(all).toMatchObject({ has_more: true, response_metadata: { next_cursor: expect.any(String) } });
  });

  it('answers conversations.replies and needs the history scope for the kind of channel', async () => {
    const w = world(['chat:write', 'channels:history']);
    const parent = fake.postUserMessage(w.team.id, w.general.id, w.alice.id, { text: 'parent' });
    await call('chat.postMessage', w.botToken, { channel: w.general.id, thread_ts: parent.ts, text: 'reply' });
    const thread = await call('conversations.replies', w.botToken, { channel: w.general.id, ts: parent.ts });
    expect((thread['messages'] as FakeMessage[]).map((m) => m.text)).toEqual(['parent', 'reply']);
    expect(await call('conversations.replies', w.botToken, { channel: w.general.id, ts: '1.000001' })).toMatchObject({ ok: false, error: 'thread_not_found' });

    const secret = fake.workspaces.addChannel(w.team.id, { name: 'secret', isPrivate: true });
    expect(await call('conversations.history', w.botToken, { channel: secret.id })).toMatchObject({ ok: false, error: 'missing_scope', needed: 'groups:history' });
  });
});
