import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettingsStore } from '../../src/bots/shared/guild-settings.js';
import { makeGuild } from '../discord/harness.js';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { waitFor } from '../queue/helpers/fakes.js';
import { freePort, TestRedis } from '../queue/helpers/redis-server.js';
import { baseEnv, CliProcess, REPO, runCli } from './helpers/cli-process.js';

const COMFYUI = path.resolve(REPO, '../shared/datasets/fixtures/provenance/comfyui/flux-flux_depth_lora_example.png');

/**
 * `genguard discord` and `genguard worker` as separate processes against a fake Discord: the
 * adapter queues the scan, the worker (with notifiers wired from configuration alone) detects
 * and replies through Discord's REST API.
 */
describe('genguard discord + genguard worker against a fake Discord', () => {
  const redis = new TestRedis();
  const fake = new FakeDiscord({ guilds: [makeGuild()] });
  const prefix = `e2e-discord-${process.pid}`;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let healthPort: number;
  let discord: CliProcess;
  let worker: CliProcess;

  beforeAll(async () => {
    await Promise.all([redis.start(), fake.start()]);
    cwd = await mkdtemp(path.join(os.tmpdir(), 'genguard-discord-'));
    healthPort = await freePort();
    const client = new Redis(redis.url);
    await new SettingsStore({ redis: client, prefix }).update('discord', fake.guild().id, (s) => ({
      ...s,
      watchedChannels: [fake.channel('general').id],
      alertChannel: fake.channel('mod-alerts').id,
    }));
    client.disconnect();
    env = baseEnv({
      REDIS_URL: redis.url,
      GENGUARD_QUEUE_PREFIX: prefix,
      GENGUARD_MODELS: 'provenance',
      DISCORD_TOKEN: fake.token,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_MEDIA_HOSTS: '127.0.0.1',
      GENGUARD_FETCH_ALLOW_HOSTS: '127.0.0.1',
    });
    discord = new CliProcess(['discord'], { cwd, env: { ...env, GENGUARD_METRICS_PORT: String(healthPort) } });
    worker = new CliProcess(['worker'], { cwd, env: { ...env, GENGUARD_METRICS_PORT: '0' } });
    const deadline = Date.now() + 45_000;
    for (;;) {
      const ok = await request(`http://127.0.0.1:${healthPort}/health`).then((r) => r.body.text().then(() => r.statusCode === 200), () => false);
      if (ok && worker.lines.some((l) => l.includes('genguard worker started'))) break;
      if (Date.now() > deadline || discord.child.exitCode !== null || worker.child.exitCode !== null) {
        throw new Error(`not ready:\n${[...discord.lines, ...worker.lines].join('\n')}`);
      }
      await sleep(200);
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all([discord?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
    await fake.stop();
    await redis.destroy();
    await rm(cwd, { recursive: true, force: true });
  });

  it('replies to a posted AI image and alerts the moderators, from a separate worker process', async () => {
    const bytes = await readFile(COMFYUI);
    const alice = fake.member('alice').user;
    const message = fake.postMessage({
      channelId: fake.channel('general').id,
      author: alice,
      attachments: [fake.attachment({ filename: 'flux.png', bytes, contentType: 'image/png', width: 800, height: 400 })],
    });
    const reply = await waitFor(() => fake.sent.find((s) => s.via === 'channel' && s.body?.message_reference?.message_id === message.id), 30_000, 'the reply');
    expect(JSON.stringify(reply.body)).toMatch(/AI-generated/i);
    const alert = await waitFor(() => fake.sent.find((s) => s.via === 'channel' && s.channelId === fake.channel('mod-alerts').id), 30_000, 'the alert');
    expect(JSON.stringify(alert.body)).toContain(message.id);
    expect(worker.lines.join('\n')).not.toContain(fake.token);
    expect(discord.lines.join('\n')).not.toContain(fake.token);
  });

  it('refuses to start without a token, saying which one', async () => {
    const result = await runCli(['discord'], { cwd, env: { ...env, DISCORD_TOKEN: '' } });
    expect(result.code).toBe(1);
    expect(result.lines.join('\n')).toContain('DISCORD_TOKEN is not set');
  });

  it('both processes drain and exit 0 on SIGTERM', async () => {
    expect(await discord.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
