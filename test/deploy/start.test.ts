import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import { eventCallback } from '../fakes/slack/payloads.js';
import { sendToApp } from '../fakes/slack/slack-signing.js';
import { waitFor } from '../queue/helpers/fakes.js';
import { freePort, TestRedis } from '../queue/helpers/redis-server.js';
import { baseEnv, CliProcess, REPO, runCli } from './helpers/cli-process.js';

const COMFYUI = path.resolve(REPO, '../shared/datasets/fixtures/provenance/comfyui/sdturbo-sdxlturbo_example.png');

const dirs: string[] = [];
const children: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop('SIGKILL')));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'genguard-start-'));
  dirs.push(dir);
  return dir;
}

async function waitHealthy(url: string, child: CliProcess, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.child.exitCode !== null) throw new Error(`genguard start exited:\n${child.lines.join('\n')}`);
    const ok = await request(`${url}/health`).then((r) => r.body.json().then(() => r.statusCode === 200), () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`not healthy in time:\n${child.lines.join('\n')}`);
    await sleep(200);
  }
}

describe('genguard start (one process, child)', () => {
  it('starts a private Redis, serves a full scan through the API end to end, and stops cleanly', async () => {
    const cwd = await tempDir();
    const port = await freePort();
    // No REDIS_URL: start runs its own Redis under ./data. Fast configuration: metadata only.
    const env = baseEnv({ GENGUARD_MODELS: 'provenance', GENGUARD_API_PORT: String(port), GENGUARD_API_HOST: '127.0.0.1', GENGUARD_METRICS_PORT: '0' });
    const start = new CliProcess(['start'], { cwd, env });
    children.push(start);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, start);
    expect(start.logs().some((l) => String(l['msg']).includes('started a private Redis'))).toBe(true);
    expect((await stat(path.join(cwd, 'data', 'appendonlydir'))).isDirectory()).toBe(true);
    const urlFile = path.join(cwd, 'data', 'redis.url');
    expect((await stat(urlFile)).mode & 0o077).toBe(0);

    // `keys create` beside it finds the private Redis through data/redis.url and prints the key last.
    const created = await runCli(['keys', 'create', '--name', 'e2e'], { cwd, env });
    expect(created.code).toBe(0);
    const key = created.lines.at(-1)!;
    expect(key).toMatch(/^gg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(await readFile(urlFile, 'utf8')).not.toContain(key);

    const image = await readFile(COMFYUI);
    const bijou = await request(`${url}/api/detect`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ image: image.toString('base64') }) });
    expect(bijou.statusCode).toBe(200);
    const body = (await bijou.body.json()) as { statusCode: number; body: { data: { verdict: string; model_results: object; evidence: string[] } } };
    expect(body.statusCode).toBe(200);
    expect(body.body.data.verdict).toBe('ai_generated');
    expect(Object.keys(body.body.data.model_results)).toEqual(['provenance']);
    expect(body.body.data.evidence.join(' ')).toContain('ComfyUI');
    const bitmind = await request(`${url}/image`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: image });
    expect(await bitmind.body.json()).toMatchObject({ isAI: true });
    const metrics = await (await request(`${url}/metrics`)).body.text();
    expect(metrics).toContain('genguard_http_requests_total{method="POST",route="/api/detect",status="200"} 1');
    expect(metrics).toContain('genguard_jobs_finished_total{queue="api",outcome="completed"}');

    expect(await start.stop('SIGTERM')).toBe(0);
    const logs = start.logs();
    // Structured logs: a request id on every request line, the same id as job id on the worker's line, no key anywhere.
    const requests = logs.filter((l) => l['msg'] === 'request' && l['route'] === '/api/detect');
    expect(requests).toHaveLength(1);
    expect(logs.some((l) => l['msg'] === 'api detection done' && l['jobId'] === requests[0]!['reqId'])).toBe(true);
    expect(start.lines.join('\n')).not.toContain(key);
    // Redis went down with genguard and its address file with it; the data stayed.
    await expect(stat(urlFile)).rejects.toThrow();
    const again = await request(`${url}/health`).then(() => 'up', () => 'down');
    expect(again).toBe('down');
  }, 90_000);

  it('runs the Slack adapter against a fake Slack: a shared image gets a threaded verdict (REDIS_URL given)', async () => {
    const cwd = await tempDir();
    const redis = new TestRedis();
    const slack = new FakeSlack();
    await Promise.all([redis.start(), slack.start()]);
    try {
      const { team, botToken } = slack.workspaces.addTeam({});
      const alice = slack.workspaces.addUser(team.id, { name: 'alice' });
      const general = slack.workspaces.addChannel(team.id, { name: 'general', members: [alice.id] });
      const [apiPort, slackPort] = [await freePort(), await freePort()];
      const secret = 'e2e-signing-secret';
      const env = baseEnv({
        REDIS_URL: redis.url,
        GENGUARD_QUEUE_PREFIX: `e2e-slack-${process.pid}`,
        GENGUARD_MODELS: 'provenance',
        GENGUARD_API_PORT: String(apiPort),
        GENGUARD_API_HOST: '127.0.0.1',
        GENGUARD_METRICS_PORT: '0',
        SLACK_BOT_TOKEN: botToken,
        SLACK_SIGNING_SECRET: secret,
        SLACK_PORT: String(slackPort),
        SLACK_API_URL: slack.apiUrl,
        SLACK_FILE_HOSTS: new URL(slack.baseUrl).host,
        GENGUARD_FETCH_ALLOW_HOSTS: '127.0.0.1',
      });
      const start = new CliProcess(['start'], { cwd, env });
      children.push(start);
      await waitHealthy(`http://127.0.0.1:${apiPort}`, start);
      expect(start.logs().some((l) => String(l['msg']).includes('private Redis'))).toBe(false);

      const file = slack.addFile(team.id, { name: 'comfy.png', bytes: await readFile(COMFYUI) });
      const event = slack.postUserMessage(team.id, general.id, alice.id, { files: [file] });
      const answer = await sendToApp(`http://127.0.0.1:${slackPort}/slack/events`, { kind: 'json', value: eventCallback({ id: team.id, domain: team.domain, botUserId: team.botUserId }, event) }, { secret });
      expect(answer.status).toBe(200);
      const reply = await waitFor(() => general.messages.find((m) => m.bot_id !== undefined && m.thread_ts === event.ts), 30_000, 'the threaded verdict');
      expect(JSON.stringify([reply.text, reply.blocks])).toContain('Likely AI-generated');
      expect(slack.fileRequests.map((r) => r.authorization)).toEqual([`Bearer ${botToken}`]);
      expect(await start.stop('SIGTERM')).toBe(0);
      expect(start.lines.join('\n')).not.toContain(botToken);
    } finally {
      await slack.stop();
      await redis.destroy();
    }
  }, 90_000);

  it('without REDIS_URL and without redis-server, exits with a message that says how to get one', async () => {
    const cwd = await tempDir();
    const result = await runCli(['start'], { cwd, env: { ...baseEnv(), PATH: '/nonexistent' } });
    expect(result.code).toBe(1);
    const text = result.lines.join('\n');
    expect(text).toContain('found neither REDIS_URL nor a redis-server program');
    expect(text).toContain('apt-get install redis-server');
    expect(text).toContain('REDIS_URL=redis://');
  });
});
