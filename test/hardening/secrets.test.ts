import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { QueueMetrics } from '../../src/queue/queue-metrics.js';
import { closeRedis, createProducerRedis, waitForReady } from '../../src/queue/redis-connections.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import { ApiKeyStore } from '../../src/server/api-key-store.js';
import { startApi } from '../../src/server/create-api.js';
import { providerOf, ScriptedBackend, syntheticImage, testQueueConfig, uniquePrefix } from '../queue/helpers/fakes.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';
import { messageText, SlackHarness } from '../slack/harness.js';
import { LogCapture } from './log-capture.js';

/**
 * No token, key or secret in what genguard logs. Each part runs with known secrets configured,
 * takes the paths that log the most (errors included: refused downloads, bad keys, Slack's
 * sign-in page), captures every pino line at debug/trace plus console output, and greps it.
 * Discord's bot token is checked in discord-faults.test.ts, the remote API keys and BitMind
 * tokens in remote-faults.test.ts.
 */

const redis = new TestRedis();
beforeAll(() => redis.start());
afterAll(() => redis.destroy());

describe('the leak check itself', () => {
  it('finds a secret, or a fragment of one, in a log line', () => {
    const capture = new LogCapture();
    capture.logger.warn({ header: 'Bearer xoxb-0000-1111-abcdefabcdefabcdef' }, 'oops');
    capture.logger.info({ url: 'https://x.example/?k=abcdefabcdefabcdef12' }, 'half');
    expect(capture.leaks(['xoxb-0000-1111-abcdefabcdefabcdef'])).toHaveLength(1);
    expect(capture.leaks(['zz-abcdefabcdefabcdef12-zz'])).toHaveLength(1);
    expect(capture.leaks(['never-logged-secret-value'])).toEqual([]);
  });
});

describe('Slack adapter and workers', () => {
  it('log no bot token, user token or signing secret, also when downloads fail', { timeout: 45_000 }, async () => {
    const console_ = new LogCapture();
    const restore = console_.captureConsole();
    const h = await SlackHarness.start(redis, { transport: 'http', adminToken: true, botScopes: ['chat:write', 'channels:history', 'users:read', 'reactions:write'] });
    try {
      await h.bot.settings.update('slack', h.team.id, (s) => ({ ...s, alertChannel: h.mods.id }));
      // Without files:read Slack answers its sign-in page: the auth_failed path, which logs the most.
      const { event } = await h.share([{ name: 'ai-91.png' }]);
      const [reply] = await h.waitForBotMessage(h.general, event.ts);
      expect(messageText(reply!)).toContain('files:read');
      const { responseUrl } = await h.command('/aicheck', 'https://127.0.0.1:1/nothing-here.png', { user: h.alice });
      await h.waitForResponse(responseUrl);
      await h.command('/aiscan', 'status', { user: h.alice });
    } finally {
      await h.close();
      restore();
    }
    const lines = [...h.logs.map((l) => JSON.stringify(l)), ...console_.lines];
    expect(lines.length).toBeGreaterThan(5);
    const text = lines.join('\n');
    const secrets = [h.botToken, h.signingSecret, h.adminToken!].filter((s): s is string => typeof s === 'string' && s.length >= 8);
    expect(secrets).toHaveLength(3);
    for (const secret of secrets) expect(text.includes(secret), `${secret.slice(0, 5)}… logged`).toBe(false);
  });
});

describe('HTTP API', () => {
  it('logs no API key, whether valid, unknown or revoked', { timeout: 45_000 }, async () => {
    const capture = new LogCapture();
    const prefix = uniquePrefix('api-secrets');
    const config = loadConfig({ REDIS_URL: redis.url, GENGUARD_QUEUE_PREFIX: prefix, GENGUARD_API_HOST: '127.0.0.1', LOG_LEVEL: 'trace' });
    const metrics = new QueueMetrics();
    const loader = new ImageLoader({ limits: config.intake });
    const runtime = new WorkerRuntime({
      queue: { ...testQueueConfig(redis.url, prefix), api: { concurrency: 1 } },
      roles: ['api'],
      backends: providerOf(new ScriptedBackend(0.8)),
      loader,
      defaultAlertThreshold: 0.7,
      logger: capture.logger,
      metrics,
    });
    await runtime.start();
    const api = await startApi(config, { metrics, logger: capture.logger, port: 0 });
    const keysRedis = createProducerRedis(redis.url);
    const keys = new ApiKeyStore({ redis: keysRedis, prefix });
    const used: string[] = [];
    try {
      expect(await waitForReady(keysRedis, 5_000)).toBe(true);
      const { key: valid } = await keys.create('hardening');
      const { key: revoked } = await keys.create('revoked');
      await keys.revoke('revoked');
      const unknown = `${valid.slice(0, -6)}ZZZZZZ`;
      used.push(valid, revoked, unknown);
      const png = await syntheticImage(5, 64, 48);
      const url = `http://127.0.0.1:${api.port}`;
      const statuses: number[] = [];
      for (const [header, key] of [['x-api-key', valid], ['authorization', `Bearer ${valid}`], ['x-api-key', revoked], ['x-api-key', unknown], ['authorization', `Bearer enterprise-${unknown}`]] as const) {
        const res = await request(`${url}/image`, { method: 'POST', body: png, headers: { [header]: key, 'content-type': 'application/octet-stream' } });
        statuses.push(res.statusCode);
        await res.body.dump();
      }
      expect(statuses).toEqual([200, 200, 403, 401, 401]);
    } finally {
      await api.close();
      await runtime.close();
      await loader.close();
      await deletePrefix(keysRedis, prefix);
      await closeRedis(keysRedis);
    }
    expect(capture.lines.length).toBeGreaterThan(5);
    expect(capture.leaks(used)).toEqual([]);
  });
});
