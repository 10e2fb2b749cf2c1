import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, TestRedis } from '../queue/helpers/redis-server.js';
import { baseEnv, CliProcess, REPO, runCli } from './helpers/cli-process.js';

const COMFYUI = path.resolve(REPO, '../shared/datasets/fixtures/provenance/comfyui/hypernetworks-hypernetwork_example_output.png');

/** The compose layout as processes: `genguard serve` and `genguard worker` apart, sharing one Redis. */
describe('genguard serve + genguard worker (separate processes)', () => {
  const redis = new TestRedis();
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let serve: CliProcess;
  let worker: CliProcess;
  let url: string;

  beforeAll(async () => {
    await redis.start();
    cwd = await mkdtemp(path.join(os.tmpdir(), 'genguard-scale-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = baseEnv({
      REDIS_URL: redis.url,
      GENGUARD_QUEUE_PREFIX: `scale-${process.pid}`,
      GENGUARD_MODELS: 'provenance',
      GENGUARD_API_PORT: String(port),
      GENGUARD_API_HOST: '127.0.0.1',
      GENGUARD_METRICS_PORT: '0',
    });
    serve = new CliProcess(['serve'], { cwd, env });
    worker = new CliProcess(['worker'], { cwd, env });
    const deadline = Date.now() + 40_000;
    for (;;) {
      const health = await request(`${url}/health`).then(async (r) => (await r.body.json()) as { workers?: number }, () => undefined);
      if (health?.workers === 1) break;
      if (Date.now() > deadline) throw new Error(`not ready:\n${[...serve.lines, ...worker.lines].join('\n')}`);
      await sleep(200);
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all([serve?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
    await redis.destroy();
    await rm(cwd, { recursive: true, force: true });
  });

  it('answers both API shapes for a key made with `genguard keys create`, detection done by the worker', async () => {
    const created = await runCli(['keys', 'create', '--name', 'tool', '--rate-limit', '30'], { cwd, env });
    expect(created.code).toBe(0);
    const key = created.lines.at(-1)!;
    const image = await readFile(COMFYUI);
    const bitmind = await request(`${url}/image`, { method: 'POST', headers: { 'x-api-key': key }, body: image });
    expect(bitmind.statusCode).toBe(200);
    expect(await bitmind.body.json()).toMatchObject({ isAI: true, confidence: 0.98 });
    const bijou = await request(`${url}/api/detect`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ image: image.toString('base64'), consent: false }) });
    expect(await bijou.body.json()).toMatchObject({ statusCode: 200, body: { data: { verdict: 'ai_generated', stored: false } } });
    expect(worker.logs().filter((l) => l['msg'] === 'api detection done')).toHaveLength(2);

    const listed = await runCli(['keys', 'list', '--json'], { cwd, env });
    expect(JSON.parse(listed.lines[0]!)).toMatchObject({ name: 'tool', rateLimitPerMinute: 30 });
    expect(listed.lines.join('\n')).not.toContain(key);
    expect((await runCli(['keys', 'revoke', 'tool'], { cwd, env })).code).toBe(0);
    const revoked = await request(`${url}/image`, { method: 'POST', headers: { 'x-api-key': key }, body: image });
    expect(revoked.statusCode).toBe(403);
    await revoked.body.dump();
  });

  it('both processes drain and exit 0 on SIGTERM', async () => {
    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
