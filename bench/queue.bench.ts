/**
 * Queue overhead: enqueue → notify latency and jobs/s with a no-op detector on a local Redis.
 *
 *   npm run bench -- --only queue [--redis-url redis://…] [--jobs 400] [--latency-runs 200]
 *
 * Starts its own `redis-server` (no persistence) unless --redis-url is given. Targets: p50 ≤ 5 ms,
 * p99 ≤ 20 ms for one scan's detect → notify round trip.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { QueueConfig } from '../src/config/load-config.js';
import type { DetectionBackend } from '../src/detector/backend.js';
import type { ImageInput } from '../src/intake/image-input.js';
import type { Notifier, NotifyJob } from '../src/queue/notifier.js';
import { ScanProducer } from '../src/queue/scan-producer.js';
import type { ImageSourceLoader } from '../src/queue/worker-deps.js';
import { WorkerRuntime } from '../src/queue/worker-runtime.js';
import { fakeResult, imageInputFrom, providerOf, scanInput, syntheticImage, testQueueConfig, uniquePrefix } from '../test/queue/helpers/fakes.js';
import { deletePrefix } from '../test/queue/helpers/redis-server.js';
import { benchRedis } from './lib/bench-redis.js';
import { arg } from './lib/cli-args.js';
import { percentile, printTimings, summarise } from './lib/measure.js';

const silent = pino({ level: 'silent' });

const noop: DetectionBackend = {
  id: 'local',
  detect: async () => fakeResult(0.5, 'noop', 0),
  close: async () => {},
};

/** Hands out pre-decoded images by URL: the bench measures the queue, not downloads. */
class MemoryLoader implements ImageSourceLoader {
  constructor(private readonly images: Map<string, ImageInput>) {}
  async load(source: string | Uint8Array): Promise<ImageInput> {
    const image = typeof source === 'string' ? this.images.get(source) : undefined;
    if (!image) throw new Error(`no image for ${String(source)}`);
    return image;
  }
}

/** Resolves a promise per scan id when its reply is "posted". */
class WaitingNotifier implements Notifier {
  readonly platform = 'discord' as const;
  readonly #waiting = new Map<string, () => void>();
  wait(id: string): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }
  async reply(job: NotifyJob): Promise<void> {
    this.#waiting.get(job.scan.id)?.();
    this.#waiting.delete(job.scan.id);
  }
  async alert(): Promise<void> {}
}

interface Setup {
  producer: ScanProducer;
  notifier: WaitingNotifier;
  close(): Promise<void>;
}

async function setup(redisUrl: string, images: Map<string, ImageInput>, workers: number, overrides: Partial<QueueConfig>): Promise<Setup> {
  const prefix = uniquePrefix('bench');
  const config = testQueueConfig(redisUrl, prefix, { attempts: { detect: 1, notify: 1, backoffMs: 100 }, ...overrides });
  const notifier = new WaitingNotifier();
  const runtimes = Array.from(
    { length: workers },
    () =>
      new WorkerRuntime({
        queue: config,
        backends: providerOf(noop),
        loader: new MemoryLoader(images),
        notifiers: { discord: notifier },
        defaultAlertThreshold: 0.7,
        logger: silent,
      }),
  );
  await Promise.all(runtimes.map((r) => r.start()));
  const producer = new ScanProducer({
    redisUrl,
    prefix,
    defaultBackend: 'local',
    attempts: 1,
    backoffMs: 100,
    retention: config.retention,
  });
  return {
    producer,
    notifier,
    async close() {
      await producer.close();
      await Promise.all(runtimes.map((r) => r.close()));
      const client = new Redis(redisUrl);
      await deletePrefix(client, prefix);
      client.disconnect();
    },
  };
}

async function latency(s: Setup, urls: string[], label: string): Promise<void> {
  const samples: number[] = [];
  let n = 0;
  for (const url of urls) {
    const id = `lat-${n++}`;
    const done = s.notifier.wait(id);
    const t0 = performance.now();
    await s.producer.enqueue(scanInput(id, url));
    await done;
    samples.push(performance.now() - t0);
  }
  const warm = samples.slice(Math.min(10, samples.length - 1));
  const t = summarise(label, warm);
  printTimings(`enqueue → notify latency (${label})`, [t]);
  const sorted = [...warm].sort((a, b) => a - b);
  console.log(`p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms (targets ≤ 5, ≤ 20)`);
}

async function throughput(s: Setup, urls: string[], jobs: number, tag: string): Promise<number> {
  const ids = Array.from({ length: jobs }, (_, i) => `${tag}-${i}`);
  const done = Promise.all(ids.map((id) => s.notifier.wait(id)));
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id, k) => s.producer.enqueue(scanInput(id, urls[(i + k) % urls.length]!))));
  }
  await done;
  return (jobs / (performance.now() - t0)) * 1000;
}

export async function run(args: string[]): Promise<void> {
  const jobs = Number(arg(args, '--jobs') ?? 400);
  const latencyRuns = Number(arg(args, '--latency-runs') ?? 200);
  const redis = await benchRedis(arg(args, '--redis-url'));
  const redisUrl = redis.url;
  try {
    // 64 distinct 256×192 pictures, so cache-on runs hash and miss rather than hit.
    const images = new Map<string, ImageInput>();
    for (let i = 0; i < 64; i++) {
      const url = `https://bench.invalid/${i}.png`;
      images.set(url, await imageInputFrom(await syntheticImage(100 + i, 256, 192), url));
    }
    const urls = [...images.keys()];
    const cacheOff = { cache: { enabled: false, ttlSeconds: 60, phashDistance: 4 } };

    let s = await setup(redisUrl, images, 1, cacheOff);
    await latency(s, Array.from({ length: latencyRuns }, (_, i) => urls[i % urls.length]!), 'cache off');
    await s.close();

    // Cache on: every job hashes its picture; after the first 64 all are exact hits.
    s = await setup(redisUrl, images, 1, {});
    await latency(s, Array.from({ length: latencyRuns }, (_, i) => urls[i % urls.length]!), 'cache on');
    await s.close();

    const rows: Array<Record<string, string | number>> = [];
    for (const [workers, concurrency] of [
      [1, 1],
      [4, 1],
      [1, 4],
    ] as const) {
      const rates: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        s = await setup(redisUrl, images, workers, { ...cacheOff, concurrency: { detect: concurrency, notify: concurrency, slow: 0 } });
        rates.push(await throughput(s, urls, jobs, `tp${workers}x${concurrency}r${rep}`));
        await s.close();
      }
      rates.sort((a, b) => a - b);
      rows.push({ workers, concurrency, jobs, median_jobs_per_s: Math.round(rates[1]!), min: Math.round(rates[0]!), max: Math.round(rates[2]!) });
    }
    console.log('\n## throughput (no-op detector, cache off, medians of 3)');
    console.table(rows);
  } finally {
    await redis.close();
  }
}
