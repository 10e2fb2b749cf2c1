import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { notifyJobSchema, type Notifier, type NotifyContext } from '../../src/queue/notifier.js';
import { NotifyLedger } from '../../src/queue/notify-ledger.js';
import { NotifyWorker } from '../../src/queue/notify-worker.js';
import { QUEUE_NAMES, RedisKeys } from '../../src/queue/queue-layout.js';
import { closeRedis, createWorkerRedis } from '../../src/queue/redis-connections.js';
import { scanJobSchema } from '../../src/queue/scan-job.js';
import { fakeResult, ImageServer, ScriptedBackend, scanInput, syntheticImage, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { silent, startPipeline, type Pipeline } from '../queue/helpers/pipeline.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';

/**
 * The notify ledger after a worker died mid-post: its claim on the step stays until it lapses.
 * The next attempt must wait for that instead of spending its attempts at once (which lost the
 * reply, or the alert after an already-posted reply; found by kill-workers.test.ts).
 */

const redis = new TestRedis();
const images = new ImageServer();
let pipeline: Pipeline | undefined;

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
});
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close()]);
});

describe('a claim left by a dead notify worker', () => {
  it('is waited out: the reply and the alert are posted once it lapses, not given up', { timeout: 30_000 }, async () => {
    const prefix = uniquePrefix('claims');
    const keys = new RedisKeys(prefix);
    const client = redis.client();
    // What a worker killed between claiming and posting leaves behind (2.5 s left on its claim).
    await client.set(keys.notifyStep('orphaned', 'reply'), 'token-of-a-dead-worker', 'PX', 2_500);
    // Notify retries 4 × from 50 ms: without waiting they would all be spent within half a second.
    pipeline = await startPipeline(redis, { backend: new ScriptedBackend(0.93), prefix, config: { attempts: { detect: 2, notify: 4, backoffMs: 100 } } });
    await pipeline.producer.enqueue(scanInput('orphaned', images.add('/o.png', await syntheticImage(77, 64, 48))));
    const p = pipeline;
    await waitFor(() => p.notifier.replies('orphaned').length === 1 && p.notifier.alerts('orphaned').length === 1, 20_000, 'reply and alert after the claim lapsed');
    expect(p.notifier.calls.reply).toBe(1);
    expect(await client.get(keys.notifyStep('orphaned', 'reply'))).toBe('done');
    client.disconnect();
  });

  it('makes the run after a killed (stalled) worker an attempt above 1, even once the claim has lapsed', { timeout: 30_000 }, async () => {
    // A notifier without a platform-side idempotency key (Slack) looks for an earlier post only
    // on attempt > 1; BullMQ's attemptsMade stays 0 across a stall, so this is about attemptsStarted.
    const prefix = uniquePrefix('claims');
    const keys = new RedisKeys(prefix);
    const connections = [createWorkerRedis(redis.url), createWorkerRedis(redis.url), createWorkerRedis(redis.url)] as const;
    const calls: NotifyContext[] = [];
    const notifier = (hang: boolean): Notifier => ({
      platform: 'discord',
      reply: (_job, context) => {
        calls.push(context);
        // The platform accepted the post, then the worker died before recording it.
        return hang ? new Promise<void>(() => {}) : Promise.resolve();
      },
      alert: async () => {},
    });
    const worker = (hang: boolean, connection: (typeof connections)[number]) =>
      new NotifyWorker({
        connection,
        prefix,
        concurrency: 1,
        notifiers: { discord: notifier(hang) },
        // A claim shorter than the stall detection: the next run finds it lapsed and claims anew.
        ledger: new NotifyLedger({ redis: connection, keys, claimTtlMs: 300 }),
        backoffMs: 100,
        lockDurationMs: 1_000,
        stalledIntervalMs: 500,
        logger: silent,
      });
    const queue = new Queue(QUEUE_NAMES.notify, { connection: connections[2], prefix });
    const first = worker(true, connections[0]);
    const second = worker(false, connections[1]);
    try {
      first.start();
      const notice = notifyJobSchema.parse({
        kind: 'result',
        scan: scanJobSchema.parse(scanInput('stalls', 'http://127.0.0.1:9/x.png')),
        result: fakeResult(0.2),
        alert: false,
        alertThreshold: 0.7,
        backend: 'local',
        modelSetVersion: 'm1',
        finishedAt: Date.now(),
      });
      await queue.add('result', notice, { jobId: 'stalls', attempts: 3 });
      await waitFor(() => calls.length === 1, 10_000, 'the first post');
      // The kill: no more lock renewals, so the job stalls and another worker takes it.
      await first.close(true);
      second.start();
      await waitFor(() => calls.length === 2, 15_000, 'the post after the stall');
      expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
      expect(calls[1]!.idempotencyKey).toBe(calls[0]!.idempotencyKey);
    } finally {
      await second.close();
      await first.close(true);
      await queue.close();
      await deletePrefix(connections[2], prefix).catch(() => 0);
      await Promise.all(connections.map((c) => closeRedis(c)));
    }
  });
});
