import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { ImageServer, ScriptedBackend, steps, syntheticImage, scanInput, waitFor } from './helpers/fakes.js';
import { startPipeline, type Pipeline } from './helpers/pipeline.js';
import { TestRedis } from './helpers/redis-server.js';

const redis = new TestRedis();
const images = new ImageServer();
let png: Buffer;
let pipeline: Pipeline | undefined;

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
  png = await syntheticImage(1);
});
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close()]);
});

describe('detect → notify', () => {
  it('downloads, detects, replies and alerts at or above the threshold', async () => {
    const backend = new ScriptedBackend(0.91);
    pipeline = await startPipeline(redis, { backend });
    const url = images.add('/a.png', png);
    const enqueued = await pipeline.producer.enqueue(scanInput('scan-a', url, { alertChannelId: 'mods' }));
    expect(enqueued).toEqual({ jobId: 'scan-a', lane: 'detect' });

    const notifier = pipeline.notifier;
    await waitFor(() => notifier.alerts('scan-a').length === 1, 15_000, 'alert');
    const [reply] = notifier.replies('scan-a');
    expect(reply?.job.kind).toBe('result');
    if (reply?.job.kind !== 'result') throw new Error('unreachable');
    expect(reply.job.result.ensemble_score).toBe(0.91);
    expect(reply.job.alert).toBe(true);
    expect(reply.job.alertThreshold).toBe(0.7);
    expect(reply.job.cache).toBeUndefined();
    expect(reply.job.scan.media.url).toBe(url);
    expect(reply.context.idempotencyKey).toMatch(/^[0-9a-f]{24}$/);
    expect(notifier.alerts('scan-a')[0]!.context.idempotencyKey).not.toBe(reply.context.idempotencyKey);
    // The reply is posted before the alert.
    expect(notifier.posted.map((p) => p.step)).toEqual(['reply', 'alert']);
    expect(backend.calls).toBe(1);
    expect(backend.images[0]!.sha256).toHaveLength(64);
  });

  it('does not alert below the job threshold, and the job threshold overrides the default', async () => {
    const backend = new ScriptedBackend(0.75);
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('strict', images.add('/s1.png', png), { alertThreshold: 0.8 }));
    const notifyQueue = new Queue(QUEUE_NAMES.notify, { connection: { url: redis.url }, prefix: pipeline.prefix });
    const done = await waitFor(async () => (await notifyQueue.getJob('strict'))?.returnvalue, 10_000, 'notify done');
    await notifyQueue.close();
    expect(done).toEqual({ posted: ['reply'] });
    const job = pipeline.notifier.replies('strict')[0]!.job;
    expect(job.kind === 'result' && job.alert).toBe(false);
    expect(job.kind === 'result' && job.alertThreshold).toBe(0.8);
    expect(pipeline.notifier.alerts()).toHaveLength(0);
  });

  it('resolves media credentials on the worker and never stores them in the job', async () => {
    const backend = new ScriptedBackend(0.2);
    const seen: string[] = [];
    pipeline = await startPipeline(redis, {
      backend,
      credentials: async (auth) => {
        seen.push(auth.kind === 'slack-bot' ? auth.teamId : '?');
        return { authorization: 'Bearer xoxb-secret' };
      },
    });
    const url = images.add('/private.png', png);
    await pipeline.producer.enqueue(
      scanInput('slack-1', url, { media: { url, auth: { kind: 'slack-bot', teamId: 'T1' } } }),
    );
    await waitFor(() => pipeline!.notifier.replies('slack-1').length === 1);
    expect(seen).toEqual(['T1']);
    expect(images.requests.find((r) => r.path === '/private.png')?.headers.authorization).toBe('Bearer xoxb-secret');
    const client = redis.client();
    const keys = await client.keys(`${pipeline.prefix}:*`);
    const values = await Promise.all(
      keys.map(async (k) => ((await client.type(k)) === 'hash' ? JSON.stringify(await client.hgetall(k)) : '')),
    );
    client.disconnect();
    expect(values.join('\n')).toContain('T1');
    expect(values.join('\n')).not.toContain('xoxb-secret');
  });

  it('lets an interactive check overtake waiting automatic scans', async () => {
    const backend = new ScriptedBackend(0.1);
    pipeline = await startPipeline(redis, { backend, config: { concurrency: { detect: 1, notify: 1, slow: 0 } }, roles: ['notify'] });
    const order: string[] = [];
    const url = images.add('/p.png', png);
    for (let i = 0; i < 4; i++) await pipeline.producer.enqueue(scanInput(`auto-${i}`, url));
    await pipeline.producer.enqueue(scanInput('human', url, { requestedBy: { trigger: 'slash_command', userId: 'u1' } }));
    // Only now start a detect worker, so all five wait together.
    const detect = await startPipeline(redis, { backend, prefix: pipeline.prefix, roles: ['detect'], config: { concurrency: { detect: 1, notify: 1, slow: 0 } } });
    try {
      await waitFor(() => pipeline!.notifier.replies().length === 5, 15_000, 'five replies');
      order.push(...pipeline.notifier.replies().map((p) => p.job.scan.id));
      expect(order[0]).toBe('human');
    } finally {
      await detect.runtime.close();
      await detect.producer.close();
    }
  });
});

describe('failures', () => {
  it('fails a non-retryable error at once and tells the user through an error notify', async () => {
    const backend = new ScriptedBackend([steps.fail('out_of_credits')], 'bijou');
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('broke', images.add('/b.png', png)));
    await waitFor(() => pipeline!.notifier.replies('broke').length === 1);
    const job = pipeline.notifier.replies('broke')[0]!.job;
    expect(job.kind).toBe('error');
    if (job.kind !== 'error') throw new Error('unreachable');
    expect(job.error).toMatchObject({ code: 'out_of_credits', retryable: false });
    expect(job.attempts).toBe(1);
    expect(backend.calls).toBe(1);
    const queue = new Queue(QUEUE_NAMES.detect, { connection: { url: redis.url }, prefix: pipeline.prefix });
    const failed = await waitFor(async () => (await queue.getFailed()).find((j) => j.id === 'broke'));
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain('out_of_credits');
    await queue.close();
  });

  it('an unreadable download fails without running the models', async () => {
    const backend = new ScriptedBackend(0.5);
    pipeline = await startPipeline(redis, { backend });
    const url = images.add('/not-an-image.png', Buffer.from('hello, not an image'));
    await pipeline.producer.enqueue(scanInput('garbage', url));
    await waitFor(() => pipeline!.notifier.replies('garbage').length === 1);
    const job = pipeline.notifier.replies('garbage')[0]!.job;
    expect(job.kind === 'error' && job.error.code).toBe('unsupported_format');
    expect(backend.calls).toBe(0);
  });

  it('retries a retryable error with backoff, then succeeds with a single reply', async () => {
    const backend = new ScriptedBackend([steps.fail('remote_unavailable'), steps.fail('timeout'), steps.score(0.3)]);
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('flaky', images.add('/f.png', png)));
    await waitFor(() => pipeline!.notifier.replies('flaky').length === 1);
    const job = pipeline.notifier.replies('flaky')[0]!.job;
    expect(job.kind === 'result' && job.result.ensemble_score).toBe(0.3);
    expect(backend.calls).toBe(3);
    const queue = new Queue(QUEUE_NAMES.detect, { connection: { url: redis.url }, prefix: pipeline.prefix });
    const completed = await waitFor(async () => (await queue.getCompleted()).find((j) => j.id === 'flaky'));
    expect(completed.attemptsMade).toBe(3);
    await queue.close();
  });

  it('tells the user once retries are exhausted', async () => {
    const backend = new ScriptedBackend([steps.fail('remote_unavailable')]);
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('down', images.add('/d.png', png)));
    await waitFor(() => pipeline!.notifier.replies('down').length === 1);
    const job = pipeline.notifier.replies('down')[0]!.job;
    expect(job.kind === 'error' && job.error.code).toBe('remote_unavailable');
    expect(job.kind === 'error' && job.attempts).toBe(3);
    expect(backend.calls).toBe(3);
  });

  it('a platform outage retries only the posting, and a failed alert does not repeat the reply', async () => {
    const backend = new ScriptedBackend(0.95);
    pipeline = await startPipeline(redis, { backend });
    const notifier = pipeline.notifier;
    notifier.failures.reply.push(new GenguardError('platform_error', 'discord 503'));
    notifier.failures.alert.push(new GenguardError('platform_error', 'discord 502'), new GenguardError('platform_error', 'discord 502'));
    await pipeline.producer.enqueue(scanInput('outage', images.add('/o.png', png)));
    await waitFor(() => notifier.alerts('outage').length === 1, 15_000, 'alert after retries');
    expect(notifier.calls).toEqual({ reply: 2, alert: 3 });
    expect(notifier.replies('outage')).toHaveLength(1);
    expect(backend.calls).toBe(1);
  });

  it('rejects an invalid job at the producer with bad_request', async () => {
    const backend = new ScriptedBackend(0.5);
    pipeline = await startPipeline(redis, { backend });
    await expect(pipeline.producer.enqueue(scanInput('bad:id', 'http://x/y.png'))).rejects.toMatchObject({ code: 'bad_request' });
    await expect(pipeline.producer.enqueue(scanInput('file', 'file:///etc/passwd'))).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('cache and dedupe', () => {
  it('answers an identical image from the cache without a model run', async () => {
    const backend = new ScriptedBackend(0.8);
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('first', images.add('/c1.png', png)));
    await waitFor(() => pipeline!.notifier.replies('first').length === 1);
    await pipeline.producer.enqueue(scanInput('again', images.add('/c2.png', png)));
    await waitFor(() => pipeline!.notifier.replies('again').length === 1);
    const job = pipeline.notifier.replies('again')[0]!.job;
    expect(job.kind === 'result' && job.cache?.kind).toBe('exact');
    expect(job.kind === 'result' && job.result.ensemble_score).toBe(0.8);
    expect(backend.calls).toBe(1);
  });

  it('answers a re-encoded, resized copy from the perceptual cache', async () => {
    const backend = new ScriptedBackend(0.85);
    pipeline = await startPipeline(redis, { backend });
    const photo = await sharp(new URL('../../../shared/datasets/dev-eval/e4-declan-wright/normalized/real/B1.jpg', import.meta.url).pathname).toBuffer();
    const repost = await sharp(photo).resize(640).jpeg({ quality: 55 }).toBuffer();
    const other = await sharp(new URL('../../../shared/datasets/dev-eval/e4-declan-wright/normalized/real/B10.jpg', import.meta.url).pathname).toBuffer();
    await pipeline.producer.enqueue(scanInput('orig', images.add('/orig.jpg', photo)));
    await waitFor(() => pipeline!.notifier.replies('orig').length === 1);
    await pipeline.producer.enqueue(scanInput('repost', images.add('/repost.jpg', repost)));
    await waitFor(() => pipeline!.notifier.replies('repost').length === 1);
    const job = pipeline.notifier.replies('repost')[0]!.job;
    expect(job.kind === 'result' && job.cache?.kind).toBe('perceptual');
    expect(job.kind === 'result' && job.cache?.distance).toBeLessThanOrEqual(4);
    expect(backend.calls).toBe(1);
    // A different photo is not a near match.
    await pipeline.producer.enqueue(scanInput('other', images.add('/other.jpg', other)));
    await waitFor(() => pipeline!.notifier.replies('other').length === 1);
    const otherJob = pipeline.notifier.replies('other')[0]!.job;
    expect(otherJob.kind === 'result' && otherJob.cache).toBeUndefined();
    expect(backend.calls).toBe(2);
  });

  it('keys the cache by model-set version: new models run again', async () => {
    const backend = new ScriptedBackend(0.6);
    let version = 'models-v1';
    const provider = { get: async () => ({ backend, modelSetVersion: version }), close: async () => {} };
    pipeline = await startPipeline(redis, { backend, provider });
    await pipeline.producer.enqueue(scanInput('v1', images.add('/v1.png', png)));
    await waitFor(() => pipeline!.notifier.replies('v1').length === 1);
    version = 'models-v2';
    await pipeline.producer.enqueue(scanInput('v2', images.add('/v2.png', png)));
    await waitFor(() => pipeline!.notifier.replies('v2').length === 1);
    expect(backend.calls).toBe(2);
    const job = pipeline.notifier.replies('v2')[0]!.job;
    expect(job.kind === 'result' && job.modelSetVersion).toBe('models-v2');
  });

  it('with the cache off, repeats run the models and nothing about the image stays in Redis', async () => {
    const backend = new ScriptedBackend(0.4);
    pipeline = await startPipeline(redis, { backend, config: { cache: { enabled: false, ttlSeconds: 60, phashDistance: 4 } } });
    await pipeline.producer.enqueue(scanInput('p1', images.add('/p1.png', png)));
    await waitFor(() => pipeline!.notifier.replies('p1').length === 1);
    const client = redis.client();
    // The in-flight hand-over is the only trace, and it is short-lived.
    const cacheKeys = await client.keys(`${pipeline.prefix}:cache:*`);
    const inflight = await client.keys(`${pipeline.prefix}:inflight:*`);
    const ttls = await Promise.all(inflight.map((k) => client.ttl(k)));
    client.disconnect();
    expect(cacheKeys).toEqual([]);
    expect(ttls.every((t) => t > 0 && t <= 120)).toBe(true);
  });

  it('concurrent jobs share a permanent failure instead of each running the models', async () => {
    const backend = new ScriptedBackend([
      async () => {
        await new Promise((r) => setTimeout(r, 500));
        throw new GenguardError('model_input_mismatch', 'scripted');
      },
    ]);
    pipeline = await startPipeline(redis, { backend, config: { concurrency: { detect: 4, notify: 4, slow: 0 } } });
    const url = images.add('/poison.png', png);
    await Promise.all(Array.from({ length: 4 }, (_, i) => pipeline!.producer.enqueue(scanInput(`poison-${i}`, url))));
    await waitFor(() => pipeline!.notifier.replies().length === 4, 15_000, 'four error replies');
    expect(pipeline.notifier.replies().map((p) => p.job.kind === 'error' && p.job.error.code)).toEqual(Array(4).fill('model_input_mismatch'));
    expect(backend.calls).toBe(1);
  });

  it('ten concurrent jobs for the same image share one model run', async () => {
    const backend = new ScriptedBackend([steps.sleep(800, 0.77)]);
    pipeline = await startPipeline(redis, { backend, config: { concurrency: { detect: 10, notify: 10, slow: 0 } } });
    const url = images.add('/same.png', png);
    await Promise.all(Array.from({ length: 10 }, (_, i) => pipeline!.producer.enqueue(scanInput(`dup-${i}`, url))));
    await waitFor(() => pipeline!.notifier.replies().length === 10, 20_000, 'ten replies');
    expect(backend.calls).toBe(1);
    const kinds = pipeline.notifier.replies().map((p) => (p.job.kind === 'result' ? (p.job.cache?.kind ?? 'ran') : 'error'));
    expect(kinds.filter((k) => k === 'ran')).toHaveLength(1);
    expect(kinds.every((k) => k === 'ran' || k === 'inflight' || k === 'exact')).toBe(true);
  });
});

describe('lanes and idempotency', () => {
  it('runs deep scans on the slow lane, where a timeout is final', async () => {
    const backend = new ScriptedBackend([steps.sleep(5_000, 0.9)]);
    pipeline = await startPipeline(redis, {
      backend,
      config: { timeouts: { detectMs: 10_000, slowMs: 300, modelMs: {} } },
    });
    expect(pipeline.runtime.roles).toContain('slow');
    const enqueued = await pipeline.producer.enqueue(scanInput('deep-1', images.add('/deep.png', png), { deep: true }));
    expect(enqueued.lane).toBe('slow');
    await waitFor(() => pipeline!.notifier.replies('deep-1').length === 1);
    const job = pipeline.notifier.replies('deep-1')[0]!.job;
    expect(job.kind === 'error' && job.error).toMatchObject({ code: 'timeout', retryable: false });
    expect(backend.calls).toBe(1);
  });

  it('a main-lane timeout is retried', async () => {
    const backend = new ScriptedBackend([steps.sleep(5_000), steps.score(0.2)]);
    pipeline = await startPipeline(redis, { backend, config: { timeouts: { detectMs: 300, slowMs: 300, modelMs: {} } } });
    await pipeline.producer.enqueue(scanInput('slowpoke', images.add('/sp.png', png)));
    await waitFor(() => pipeline!.notifier.replies('slowpoke').length === 1);
    const job = pipeline.notifier.replies('slowpoke')[0]!.job;
    expect(job.kind === 'result' && job.result.ensemble_score).toBe(0.2);
    expect(backend.calls).toBe(2);
  });

  it('a notify job for an already answered scan posts nothing', async () => {
    const backend = new ScriptedBackend(0.99);
    pipeline = await startPipeline(redis, { backend });
    await pipeline.producer.enqueue(scanInput('once', images.add('/once.png', png)));
    await waitFor(() => pipeline!.notifier.alerts('once').length === 1);
    const notifyQueue = new Queue(QUEUE_NAMES.notify, { connection: { url: redis.url }, prefix: pipeline.prefix });
    const first = await waitFor(async () => (await notifyQueue.getJob('once'))?.returnvalue, 10_000, 'notify done');
    expect(first).toEqual({ posted: ['reply', 'alert'] });
    // As if detection ran again after the first notify job was removed (retention, stalled rerun).
    const data = (await notifyQueue.getJob('once'))!.data as unknown;
    await (await notifyQueue.getJob('once'))!.remove();
    await notifyQueue.add('result', data, { jobId: 'once' });
    const second = await waitFor(async () => (await notifyQueue.getJob('once'))?.returnvalue, 10_000, 'second notify done');
    expect(second).toEqual({ posted: [] });
    expect(pipeline.notifier.replies('once')).toHaveLength(1);
    expect(pipeline.notifier.alerts('once')).toHaveLength(1);
    await notifyQueue.close();
  });
});

