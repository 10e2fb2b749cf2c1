import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { BackendId, DetectionBackend } from '../../src/detector/backend.js';
import { createRemoteBackend } from '../../src/detector/remote/create-remote-backend.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import type { BackendProvider } from '../../src/queue/worker-deps.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import type { Fault } from '../fakes/bitmind/fake-http.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { Prng } from '../fuzz/prng.js';
import { FetchLoader, ImageServer, RecordingNotifier, scanInput, syntheticImage, testQueueConfig, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { deletePrefix, TestRedis } from '../queue/helpers/redis-server.js';
import { LogCapture } from './log-capture.js';

/**
 * The remote APIs misbehaving at random (seeded): 429 with Retry-After, 500, 503, answers that
 * never come, malformed JSON and error envelopes, on both BitMind and Bijou, under the real
 * queue. Every scan must be answered exactly once (a verdict, or an error saying why), and no
 * credential may show up in anything the workers or backends logged.
 */

const JOBS = Number(process.env['GENGUARD_REMOTE_FAULT_JOBS'] ?? 60);
const SEED = Number(process.env['GENGUARD_REMOTE_FAULT_SEED'] ?? 0x5eed);
const SECRETS = {
  bijouKey: 'bijou_live_4f9c2e7a1b8d6c3e5f0a9b7c',
  bitmindSecret: 'bm-secret-9a8b7c6d5e4f3a2b1c0d',
};
/** Not a secret (BitMind shows it in its console); logged freely. */
const BITMIND_CLIENT = 'client-hardening-7d3f';

const redis = new TestRedis();
const images = new ImageServer();
const capture = new LogCapture();
let bijou: FakeBijouServer;
let bitmind: FakeBitmindServer;

/** While set, every request fails (an outage long enough to outlast every retry). */
let outage = false;

/** A seeded fault stream: about 40 % of requests misbehave, all of them during an outage. */
function randomFaults(random: Prng, bijouToo: boolean): () => Fault | undefined {
  const kinds: Array<() => Fault> = [
    () => ({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: { error: 'rate limited', retry_after: 1 } }),
    () => ({ kind: 'status', status: 500 }),
    () => ({ kind: 'status', status: 503 }),
    () => ({ kind: 'status', status: 502, body: '<html>bad gateway</html>' }),
    () => ({ kind: 'hang' }),
    () => ({ kind: 'malformed' }),
    ...(bijouToo ? [() => ({ kind: 'inner', status: 500, error: 'model crashed' }) as Fault] : []),
  ];
  return () => (outage || random.chance(0.4) ? random.pick(kinds)() : undefined);
}

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
  bijou = await FakeBijouServer.start({ apiKeys: [SECRETS.bijouKey] });
  bitmind = await FakeBitmindServer.start({ clients: [{ clientId: BITMIND_CLIENT, clientSecret: SECRETS.bitmindSecret }] });
  const random = new Prng(SEED);
  // The fakes' FaultInjector hands out queued faults; this one decides per request instead.
  bijou.faults.take = randomFaults(random, true);
  bitmind.faults.take = randomFaults(random, false);
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close(), bijou?.close(), bitmind?.close()]);
});

describe('remote APIs failing at random under the queue', () => {
  it(`${JOBS} scans over BitMind and Bijou: each answered once, with a verdict or a reason`, { timeout: 90_000 }, async () => {
    const restoreConsole = capture.captureConsole();
    const config = loadConfig({
      BIJOU_BASE_URL: bijou.url,
      BIJOU_API_KEY: SECRETS.bijouKey,
      BITMIND_BASE_URL: bitmind.url,
      BITMIND_AUTH: 'oauth',
      BITMIND_CLIENT_ID: BITMIND_CLIENT,
      BITMIND_CLIENT_SECRET: SECRETS.bitmindSecret,
      GENGUARD_REMOTE_TIMEOUT_MS: '400',
      GENGUARD_REMOTE_DEADLINE_MS: '3000',
      GENGUARD_REMOTE_RETRIES: '2',
      GENGUARD_REMOTE_RETRY_BASE_MS: '20',
      GENGUARD_REMOTE_RETRY_MAX_MS: '200',
      // The breaker opens during the outage; a short cooldown keeps the queue's Retry-After waits short.
      GENGUARD_REMOTE_COOLDOWN_MS: '1500',
      LOG_LEVEL: 'trace',
    });
    const backends = new Map<BackendId, DetectionBackend>();
    const provider: BackendProvider = {
      async get(_lane, id = 'bijou') {
        let backend = backends.get(id);
        if (!backend) {
          backend = createRemoteBackend(config, id === 'bitmind' ? 'bitmind' : 'bijou', { logger: capture.remote });
          backends.set(id, backend);
        }
        return { backend, modelSetVersion: `remote-${id}` };
      },
      async close() {
        await Promise.all([...backends.values()].map((b) => b.close()));
      },
    };
    const prefix = uniquePrefix('remote-faults');
    const queue = testQueueConfig(redis.url, prefix, { cache: { enabled: false, ttlSeconds: 60, phashDistance: 0 }, attempts: { detect: 3, notify: 4, backoffMs: 100 } });
    const notifier = new RecordingNotifier('discord');
    const runtime = new WorkerRuntime({ queue, roles: ['remote', 'notify'], backends: provider, loader: new FetchLoader(), notifiers: { discord: notifier }, defaultAlertThreshold: 0.7, logger: capture.logger });
    const producer = new ScanProducer({ redisUrl: redis.url, prefix, defaultBackend: 'bijou', addTimeoutMs: 2_000, attempts: 3, backoffMs: 100, retention: queue.retention });
    try {
      await runtime.start();
      const OUTAGE_JOBS = 10;
      const enqueue = async (i: number) => {
        const url = images.add(`/r${i}.png`, await syntheticImage(100 + i, 64, 48));
        await producer.enqueue(scanInput(`remote-${i}`, url, { backend: i % 2 === 0 ? 'bijou' : 'bitmind' }));
      };
      for (let i = 0; i < JOBS - OUTAGE_JOBS; i++) await enqueue(i);
      await waitFor(() => notifier.replies().length >= JOBS - OUTAGE_JOBS, 60_000, 'replies before the outage');
      // Then both APIs go down for the last scans: they must end with an error saying why.
      outage = true;
      for (let i = JOBS - OUTAGE_JOBS; i < JOBS; i++) await enqueue(i);
      await waitFor(() => notifier.replies().length >= JOBS, 80_000, `${JOBS} replies (have ${notifier.replies().length})`);

      const perScan = new Map<string, number>();
      for (const p of notifier.replies()) perScan.set(p.job.scan.id, (perScan.get(p.job.scan.id) ?? 0) + 1);
      const outcomes: Record<string, number> = {};
      for (const p of notifier.replies()) {
        const key = p.job.kind === 'result' ? `result via ${p.job.backend}` : `error ${p.job.error.code}${p.job.error.retryable ? ' (after retries)' : ''}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
      console.log(`[remote-faults] ${JSON.stringify({ jobs: JOBS, outcomes, requests: { bijou: bijou.counts.detect, bitmind: bitmind.counts } })}`);
      expect([...perScan.values()].every((n) => n === 1), 'one reply per scan').toBe(true);
      expect(perScan.size).toBe(JOBS);
      // Faults came at random, so both kinds of ending must be there for the test to mean something.
      expect(Object.keys(outcomes).some((k) => k.startsWith('result'))).toBe(true);
      expect(Object.keys(outcomes).some((k) => k.startsWith('error'))).toBe(true);
      for (const p of notifier.replies()) {
        if (p.job.kind === 'error') {
          expect(p.job.error.message.length).toBeGreaterThan(0);
          expect(['rate_limited', 'remote_unavailable', 'remote_error', 'invalid_response', 'timeout', 'internal']).toContain(p.job.error.code);
        }
      }
    } finally {
      await producer.close();
      await runtime.close(true);
      await provider.close();
      const client = redis.client();
      await deletePrefix(client, prefix);
      client.disconnect();
      restoreConsole();
    }

    // Secrets: the configured ones, and the bearer tokens BitMind issued during the run.
    const issued = bitmind.requests.map((r) => String(r.headers['authorization'] ?? '').replace(/^Bearer\s+/i, '')).filter((t) => t.length >= 16);
    expect(capture.lines.length, 'something was logged').toBeGreaterThan(JOBS);
    expect(capture.leaks([...Object.values(SECRETS), ...new Set(issued)])).toEqual([]);
  });
});
