import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/queue/queue-layout.js';
import { ImageServer, ScriptedBackend, scanInput, syntheticImage, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { startPipeline, type Pipeline } from '../queue/helpers/pipeline.js';
import { TestRedis } from '../queue/helpers/redis-server.js';

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
});
