import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWorkerParts, SlackBot } from '../../src/bots/slack/slack-bot.js';
import { loadConfig } from '../../src/config/load-config.js';
import { isGenguardError } from '../../src/errors/genguard-error.js';
import { scanJobSchema } from '../../src/queue/scan-job.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { TestRedis } from '../queue/helpers/redis-server.js';
import { uniquePrefix } from '../queue/helpers/fakes.js';

const silent = pino({ level: 'silent' });
const producer = { enqueue: async () => ({ jobId: 'x', lane: 'detect' as const }) };

let fake: FakeSlack;
let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.start();
  redis = new TestRedis();
  await redis.start();
  client = redis.client();
});
afterAll(async () => {
  client.disconnect();
  await redis.destroy();
  await fake.stop();
});

async function startError(env: Record<string, string>): Promise<unknown> {
  const bot = new SlackBot({ config: loadConfig({ SLACK_API_URL: fake.apiUrl, SLACK_PORT: '0', ...env }), producer, redis: client, logger: silent, retries: 0 });
  try {
    await bot.start();
  } catch (error) {
    return error;
  } finally {
    await bot.stop();
  }
  return undefined;
}

describe('start-up', () => {
  it('fails with config_invalid when Slack refuses the bot token', async () => {
    const error = await startError({ SLACK_BOT_TOKEN: 'xoxb-wrong', SLACK_SIGNING_SECRET: 's' });
    expect(isGenguardError(error) && error.code).toBe('config_invalid');
    expect(String((error as Error).message)).toContain('invalid_auth');
  });

  it('fails with config_invalid when Slack refuses the app token (Socket Mode)', async () => {
    const { botToken } = fake.workspaces.addTeam();
    const error = await startError({ SLACK_BOT_TOKEN: botToken, SLACK_APP_TOKEN: 'xapp-wrong' });
    expect(isGenguardError(error) && error.code).toBe('config_invalid');
    expect(String((error as Error).message)).toContain('SLACK_APP_TOKEN');
  });
});

describe('worker parts without a bot', () => {
  const job = (teamId: string) =>
    scanJobSchema.parse({
      id: 'j1',
      platform: 'slack',
      workspaceId: teamId,
      channelId: 'C1',
      media: { url: 'https://files.slack.com/x.png', auth: { kind: 'slack-bot', teamId } },
      requestedBy: { trigger: 'auto' },
      reply: { kind: 'none' },
    });

  it('single workspace: the credentials resolver gives the configured bot token', async () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', GENGUARD_QUEUE_PREFIX: uniquePrefix('slack') });
    const parts = createSlackWorkerParts({ config, redis: client });
    const scan = job('T1');
    expect(await parts.credentials(scan.media.auth!, scan)).toEqual({ authorization: 'Bearer xoxb-1' });
    expect(parts.notifier.platform).toBe('slack');
  });

  it('OAuth: resolves each team’s token from the installation store, auth_failed when not installed', async () => {
    const config = loadConfig({ SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 'd', SLACK_STATE_SECRET: 'e', SLACK_SIGNING_SECRET: 's', GENGUARD_QUEUE_PREFIX: uniquePrefix('slack') });
    const parts = createSlackWorkerParts({ config, redis: client });
    await parts.installations.storeInstallation({ team: { id: 'T2' }, enterprise: undefined, user: { token: undefined, scopes: undefined, id: 'U1' }, bot: { token: 'xoxb-2', scopes: [], id: 'B2', userId: 'U2' } });
    const scan = job('T2');
    expect(await parts.credentials(scan.media.auth!, scan)).toEqual({ authorization: 'Bearer xoxb-2' });
    const missing = job('T3');
    await expect(parts.credentials(missing.media.auth!, missing)).rejects.toMatchObject({ code: 'auth_failed', retryable: false });
  });
});
