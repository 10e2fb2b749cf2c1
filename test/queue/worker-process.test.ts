import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { ImageServer, ScriptedBackend, scanInput, syntheticImage, waitFor } from './helpers/fakes.js';
import { startPipeline, type Pipeline } from './helpers/pipeline.js';
import { TestRedis } from './helpers/redis-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const redis = new TestRedis();
const images = new ImageServer();
const children: ChildProcess[] = [];
const pipelines: Pipeline[] = [];
let png: Buffer;

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
  png = await syntheticImage(7);
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const p of pipelines.splice(0).reverse()) await p.close();
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close()]);
});

/** Starts test/queue/worker-child.ts and resolves once its workers run. */
async function spawnWorker(prefix: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/queue/worker-child.ts'], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redis.url, PREFIX: prefix, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker child exited early (${code}): ${stderr}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('worker processes', () => {
  it('a job whose worker is killed with SIGKILL mid-job completes on another worker', async () => {
    const backend = new ScriptedBackend(0.42);
    // The observer: notify only, so the job can only be detected by the child or the rescuer.
    const observer = await startPipeline(redis, { backend, roles: ['notify'] });
    pipelines.push(observer);
    const child = await spawnWorker(observer.prefix, { ROLES: 'detect', SLEEP_MS: '60000' });
    await observer.producer.enqueue(scanInput('killed', images.add('/k.png', png)));
    const marks = redis.client();
    await waitFor(async () => (await marks.llen(`${observer.prefix}:test:started`)) === 1, 15_000, 'child started the job');

    child.kill('SIGKILL');
    expect((await exited(child)).signal).toBe('SIGKILL');
    const rescuer = await startPipeline(redis, { backend, prefix: observer.prefix, roles: ['detect'] });
    pipelines.push(rescuer);

    await waitFor(() => observer.notifier.replies('killed').length === 1, 20_000, 'reply after the stall');
    const job = observer.notifier.replies('killed')[0]!.job;
    expect(job.kind === 'result' && job.result.ensemble_score).toBe(0.42);
    expect(backend.calls).toBe(1);
    const queue = new Queue(QUEUE_NAMES.detect, { connection: { url: redis.url }, prefix: observer.prefix });
    await waitFor(async () => (await queue.getJobState('killed')) === 'completed', 10_000, 'detect job completed');
    await queue.close();
    marks.disconnect();
  });

  it('SIGTERM drains: the running job finishes, no new job starts, the process exits 0', async () => {
    const backend = new ScriptedBackend(0.1);
    const observer = await startPipeline(redis, { backend, roles: ['notify'] });
    pipelines.push(observer);
    const child = await spawnWorker(observer.prefix, { ROLES: 'detect', SLEEP_MS: '1500' });
    await observer.producer.enqueue(scanInput('running', images.add('/r.png', png)));
    const marks = redis.client();
    await waitFor(async () => (await marks.llen(`${observer.prefix}:test:started`)) === 1, 15_000, 'child started');
    await observer.producer.enqueue(scanInput('queued', images.add('/q.png', await syntheticImage(8))));

    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(await marks.lrange(`${observer.prefix}:test:drained`, 0, -1)).toEqual([String(child.pid)]);
    expect(await marks.llen(`${observer.prefix}:test:started`)).toBe(1);
    await waitFor(() => observer.notifier.replies('running').length === 1, 10_000, 'drained job reply');
    const queue = new Queue(QUEUE_NAMES.detect, { connection: { url: redis.url }, prefix: observer.prefix });
    expect(await queue.getJobState('running')).toBe('completed');
    expect(['waiting', 'prioritized']).toContain(await queue.getJobState('queued'));

    // The job left behind is picked up by the next worker.
    const next = await startPipeline(redis, { backend, prefix: observer.prefix, roles: ['detect'] });
    pipelines.push(next);
    await waitFor(() => observer.notifier.replies('queued').length === 1, 10_000, 'queued job reply');
    await queue.close();
    marks.disconnect();
  });
});
