import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { scanInput, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { deletePrefix } from '../queue/helpers/redis-server.js';
import { FaultHarness, pngFor } from './fault-harness.js';

/**
 * An image that takes down every worker process that touches it (a decoder crash, an OOM kill):
 * after BullMQ's stalled limit the job fails, and the requester must still be told, once.
 */

const world = new FaultHarness();
const { redis, images, posts, ready } = world;

beforeAll(() => world.start());
afterAll(() => world.close());

describe('an image that takes down every worker that touches it', () => {
  it('fails after the stalled limit and the requester is told, once', { timeout: 90_000 }, async () => {
    const prefix = uniquePrefix('poison');
    const producer = new ScanProducer({ redisUrl: redis.url, prefix, defaultBackend: 'local', addTimeoutMs: 2_000, attempts: 3, backoffMs: 200, retention: { keepCompletedSeconds: 600, keepFailedSeconds: 600 } });
    const detectQueue = new Queue(QUEUE_NAMES.detect, { connection: { url: redis.url }, prefix });
    const workers: ChildProcess[] = [];
    try {
      await producer.enqueue(scanInput('poison-1', images.add('/img/9001-hang-50.png', await pngFor(9001))));
      let kills = 0;
      let lastStart: number | undefined;
      // Each worker that picks the job up dies (SIGKILL) while holding it; the next one finds it stalled.
      while (!posts.some((p) => p.scanId === 'poison-1')) {
        const child = world.spawnWorker(prefix);
        workers.push(child);
        // Picked up by this worker: active again with a new start time (not the dead worker's stale "active").
        const picked = await waitFor(
          async () => {
            if (posts.some((p) => p.scanId === 'poison-1')) return 'answered';
            const job = await detectQueue.getJob('poison-1');
            const active = (await detectQueue.getJobState('poison-1')) === 'active';
            return active && ready.has(child) && job?.processedOn !== lastStart ? job?.processedOn ?? 'started' : undefined;
          },
          30_000,
          'the job to be picked up or answered',
        );
        if (picked !== 'answered') {
          lastStart = typeof picked === 'number' ? picked : undefined;
          await sleep(300);
          child.kill('SIGKILL');
          kills++;
        }
        if (kills > 6) throw new Error('the stalled limit never applied');
      }
      const replies = posts.filter((p) => p.scanId === 'poison-1');
      console.log(`[poison] ${JSON.stringify({ kills, replies: replies.map((r) => r.kind), state: await detectQueue.getJobState('poison-1'), reason: (await detectQueue.getJob('poison-1'))?.failedReason })}`);
      expect(replies.map((r) => `${r.step}:${r.kind}`)).toEqual(['reply:error']);
      expect(await detectQueue.getJobState('poison-1')).toBe('failed');
      // Three deaths exceed maxStalledCount (2); a fourth kill can land on the worker that fails it
      // before its reply went out (the next worker then posts it).
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(kills).toBeLessThanOrEqual(4);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
      await detectQueue.close();
      await producer.close();
      const client = redis.client();
      await deletePrefix(client, prefix).catch(() => 0);
      client.disconnect();
    }
  });
});
