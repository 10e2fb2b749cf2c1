import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { ImageServer, ScriptedBackend, scanInput, steps, syntheticImage, waitFor } from './helpers/fakes.js';
import { startPipeline, type Pipeline } from './helpers/pipeline.js';
import { freePort, TestRedis } from './helpers/redis-server.js';

const redis = new TestRedis({ persistent: true });
const images = new ImageServer();
const pipelines: Pipeline[] = [];

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
});
afterEach(async () => {
  for (const p of pipelines.splice(0).reverse()) await p.close();
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close()]);
});

describe('Redis outages', () => {
  it('enqueue fails fast with queue_unavailable when Redis is unreachable', async () => {
    const producer = new ScanProducer({
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      prefix: 'nowhere',
      defaultBackend: 'local',
      addTimeoutMs: 300,
      attempts: 1,
      backoffMs: 10,
      retention: { keepCompletedSeconds: 60, keepFailedSeconds: 60 },
    });
    const error = await producer.enqueue(scanInput('x', 'http://127.0.0.1/x.png')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'queue_unavailable', retryable: true });
    await producer.close();
  });

  it('a producer started before Redis works once Redis is up', async () => {
    const late = new TestRedis();
    late.port = await freePort();
    const producer = new ScanProducer({
      redisUrl: late.url,
      prefix: 'late',
      defaultBackend: 'local',
      addTimeoutMs: 300,
      attempts: 1,
      backoffMs: 10,
      retention: { keepCompletedSeconds: 60, keepFailedSeconds: 60 },
    });
    try {
      await expect(producer.enqueue(scanInput('early', 'http://127.0.0.1/e.png'))).rejects.toMatchObject({ code: 'queue_unavailable' });
      await late.start();
      const queued = await waitFor(
        () => producer.enqueue(scanInput('late-1', 'http://127.0.0.1/l.png')).catch(() => undefined),
        10_000,
        'enqueue after Redis started',
      );
      expect(queued.jobId).toBe('late-1');
      const client = late.client();
      expect(await client.hget('late:detect:late-1', 'name')).toBe('detect');
      expect(await client.exists('late:detect:early')).toBe(0);
      client.disconnect();
    } finally {
      await producer.close();
      await late.destroy();
    }
  });

  it('workers and producers carry on after a Redis restart; jobs queued before it are processed once', async () => {
    const backend = new ScriptedBackend([steps.sleep(1_200, 0.3)]);
    const pipeline = await startPipeline(redis, { backend, config: { concurrency: { detect: 1, notify: 2, slow: 0 } } });
    pipelines.push(pipeline);
    const { producer, notifier } = pipeline;
    await producer.enqueue(scanInput('before-a', images.add('/ra.png', await syntheticImage(21))));
    await producer.enqueue(scanInput('before-b', images.add('/rb.png', await syntheticImage(22))));
    await waitFor(() => backend.calls === 1, 10_000, 'first detection running');

    await redis.stop();
    const during = await producer.enqueue(scanInput('during', images.add('/rc.png', await syntheticImage(23)))).catch((e: unknown) => e);
    expect(during).toMatchObject({ code: 'queue_unavailable' });
    await redis.start();

    await producer.enqueue(scanInput('after', images.add('/rd.png', await syntheticImage(24))));
    await waitFor(
      () => ['before-a', 'before-b', 'after'].every((id) => notifier.replies(id).length === 1),
      25_000,
      'replies for every job',
    );
    expect(notifier.replies('during')).toHaveLength(0);
    // A job whose lock lapsed during the outage may be detected twice, but is answered once.
    expect(notifier.replies()).toHaveLength(3);
  });
});

describe('remote rate limit', () => {
  it('is enforced across two workers', async () => {
    // Activation times come from BullMQ (processedOn), the moment the limiter let each job in.
    const limit = { max: 2, durationMs: 1_000 };
    const config = { remoteRateLimit: limit, concurrency: { detect: 1, notify: 4, slow: 0 } };
    const backendFor = () => new ScriptedBackend([steps.sleep(300, 0.5)], 'bijou');
    const a = backendFor();
    const b = backendFor();
    const first = await startPipeline(redis, { backend: a, roles: ['remote', 'notify'], config, defaultBackend: 'bijou' });
    pipelines.push(first);
    const second = await startPipeline(redis, { backend: b, prefix: first.prefix, roles: ['remote'], config, defaultBackend: 'bijou' });
    pipelines.push(second);
    for (let i = 0; i < 6; i++) {
      const lane = await first.producer.enqueue(scanInput(`rl-${i}`, images.add(`/rl${i}.png`, await syntheticImage(30 + i))));
      expect(lane.lane).toBe('remote');
    }
    await waitFor(() => first.notifier.replies().length === 6, 20_000, 'six replies');
    expect(a.calls + b.calls).toBe(6);
    expect(Math.min(a.calls, b.calls)).toBeGreaterThan(0);
    // Two per second for both workers together: six jobs need three windows. (With a limit per
    // worker they would fit in two.)
    const queue = new Queue(QUEUE_NAMES.remote, { connection: { url: redis.url }, prefix: first.prefix });
    const activated = (await queue.getJobs(['completed'])).map((j) => j.processedOn ?? 0).sort((x, y) => x - y);
    await queue.close();
    expect(activated).toHaveLength(6);
    expect(activated[5]! - activated[0]!).toBeGreaterThanOrEqual(1_900);
  });
});

describe('metrics', () => {
  it('serves jobs by state, detection latency, cache lookups and remote errors', async () => {
    const backend = new ScriptedBackend([steps.score(0.9), steps.fail('out_of_credits')], 'bijou');
    const port = await freePort();
    const pipeline = await startPipeline(redis, { backend, defaultBackend: 'bijou', config: { metrics: { port, host: '127.0.0.1' } } });
    pipelines.push(pipeline);
    const png = await syntheticImage(40);
    await pipeline.producer.enqueue(scanInput('m1', images.add('/m1.png', png)));
    await waitFor(() => pipeline.notifier.replies('m1').length === 1);
    await pipeline.producer.enqueue(scanInput('m2', images.add('/m2.png', png)));
    await pipeline.producer.enqueue(scanInput('m3', images.add('/m3.png', await syntheticImage(41))));
    await waitFor(() => pipeline.notifier.replies().length === 3, 15_000, 'three replies');
    const expected = [
      'genguard_queue_jobs{queue="detect-remote",state="completed"} 2',
      'genguard_queue_jobs{queue="detect-remote",state="failed"} 1',
      'genguard_detection_seconds_count{model="fake"} 1',
      'genguard_detection_seconds_count{model="backend:bijou"} 1',
      'genguard_cache_lookups_total{outcome="exact"} 1',
      'genguard_cache_lookups_total{outcome="miss"} 1',
      'genguard_remote_api_errors_total{backend="bijou",code="out_of_credits"} 1',
      'genguard_notifications_total{platform="discord",step="reply",outcome="posted"} 3',
    ];
    // Job states and counters settle just after the replies: poll until they have.
    let body = '';
    await waitFor(
      async () => {
        body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return expected.every((line) => body.includes(line));
      },
      10_000,
      'settled metrics',
    ).catch(() => undefined);
    for (const line of expected) expect(body).toContain(line);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });
});
