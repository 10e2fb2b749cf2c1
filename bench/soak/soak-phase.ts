import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Config } from '../../src/config/load-config.js';
import type { DetectionBackend } from '../../src/detector/backend.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import type { Notifier, NotifyJob } from '../../src/queue/notifier.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import { Prng } from '../../test/fuzz/prng.js';
import { scanInput, uniquePrefix } from '../../test/queue/helpers/fakes.js';
import { deletePrefix } from '../../test/queue/helpers/redis-server.js';
import { percentile } from '../lib/measure.js';
import type { SoakImages } from './soak-images.js';

export interface PhaseOptions {
  name: string;
  jobs: number;
  /** Share of jobs that repost a picture an earlier job already sent (same bytes). */
  repostShare: number;
  cache: boolean;
  /** Jobs kept in flight (closed loop): enough to keep every worker slot busy. */
  inflight: number;
  images: SoakImages;
  /** First fresh picture index of this phase. */
  firstPicture?: number;
  redisUrl: string;
  config: Config;
  backend: DetectionBackend;
  modelSetVersion: string;
  seed?: number;
  log?: (line: string) => void;
}

export interface PhaseResult {
  name: string;
  jobs: number;
  cache: boolean;
  repostShare: number;
  seconds: number;
  jobsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  outcomes: Record<string, number>;
  rssMiB: { start: number; afterFirstWindow: number; afterLastWindow: number; peakSampled: number };
  /** Jobs per window of the flatness check (the first and last `window` jobs). */
  window: number;
  /** (RSS after the last window − RSS after the first) / RSS after the first. */
  rssGrowth: number;
  redisUsedMiB: { start: number; end: number };
  picturesUsed: number;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Resolves each scan's promise when its reply is posted, and tallies what was answered. */
class SoakNotifier implements Notifier {
  readonly platform = 'discord' as const;
  readonly outcomes: Record<string, number> = {};
  readonly #waiting = new Map<string, () => void>();

  wait(id: string): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  async reply(job: NotifyJob): Promise<void> {
    const key = job.kind === 'error' ? `error:${job.error.code}` : job.cache ? `cached:${job.cache.kind}` : 'detected';
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
    this.#waiting.get(job.scan.id)?.();
    this.#waiting.delete(job.scan.id);
  }

  async alert(): Promise<void> {}
}

async function redisUsed(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return mib(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
}

/**
 * One soak phase: `jobs` scans through a real ScanProducer → Redis → WorkerRuntime (detect +
 * notify, production queue settings) → ImageLoader over HTTP → the backend, kept `inflight`
 * deep. Latency is enqueue → reply posted.
 */
export async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const log = o.log ?? (() => {});
  const prefix = uniquePrefix(`soak-${o.name}`);
  const queue = { ...o.config.queue, redisUrl: o.redisUrl, prefix, cache: { ...o.config.queue.cache, enabled: o.cache }, metrics: { port: 0, host: '127.0.0.1' } };
  const notifier = new SoakNotifier();
  const loader = new ImageLoader({ limits: { ...o.config.intake, allowHosts: ['127.0.0.1'] } });
  const runtime = new WorkerRuntime({
    queue,
    roles: ['detect', 'notify'],
    backends: { get: async () => ({ backend: o.backend, modelSetVersion: o.modelSetVersion }), close: async () => {} },
    loader,
    notifiers: { discord: notifier },
    defaultAlertThreshold: o.config.bands.ai,
    maxPixels: o.config.intake.maxPixels,
    logger: pino({ level: 'silent' }),
  });
  const producer = new ScanProducer({
    redisUrl: o.redisUrl,
    prefix,
    defaultBackend: 'local',
    addTimeoutMs: queue.addTimeoutMs,
    attempts: queue.attempts.detect,
    backoffMs: queue.attempts.backoffMs,
    retention: queue.retention,
  });
  const admin = new Redis(o.redisUrl);
  await runtime.start();

  // The plan: which picture each job sends (a repost repeats an earlier job's picture).
  const random = new Prng(o.seed ?? 0x50a6);
  const plan: number[] = [];
  let fresh = o.firstPicture ?? 0;
  for (let i = 0; i < o.jobs; i++) {
    if (i > 0 && random.chance(o.repostShare)) plan.push(plan[random.int(plan.length)]!);
    else plan.push(fresh++ % o.images.count);
  }

  const window = Math.max(1, Math.round(o.jobs / 5));
  const latencies: number[] = [];
  const rss = { start: mib(process.memoryUsage().rss), afterFirstWindow: 0, afterLastWindow: 0, peakSampled: 0 };
  const redisStart = await redisUsed(admin);
  const sampler = setInterval(() => (rss.peakSampled = Math.max(rss.peakSampled, mib(process.memoryUsage().rss))), 500);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const lane = async () => {
    for (let i = next++; i < o.jobs; i = next++) {
      const id = `${o.name}-${i}`;
      const answered = notifier.wait(id);
      const start = performance.now();
      await producer.enqueue(scanInput(id, o.images.url(plan[i]!)));
      await answered;
      latencies.push(performance.now() - start);
      done++;
      if (done === window) rss.afterFirstWindow = mib(process.memoryUsage().rss);
      if (done % Math.max(1, Math.round(o.jobs / 10)) === 0) log(`  ${o.name}: ${done}/${o.jobs} (${Math.round(done / ((performance.now() - t0) / 1000))} jobs/s, rss ${mib(process.memoryUsage().rss)} MiB)`);
    }
  };
  await Promise.all(Array.from({ length: o.inflight }, lane));
  const seconds = (performance.now() - t0) / 1000;
  rss.afterLastWindow = mib(process.memoryUsage().rss);
  clearInterval(sampler);
  rss.peakSampled = Math.max(rss.peakSampled, rss.afterLastWindow);
  const redisEnd = await redisUsed(admin);

  await producer.close();
  await runtime.close();
  await loader.close();
  await deletePrefix(admin, prefix);
  admin.disconnect();

  const sorted = [...latencies].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    name: o.name,
    jobs: o.jobs,
    cache: o.cache,
    repostShare: o.repostShare,
    seconds: r(seconds),
    jobsPerSecond: r(o.jobs / seconds),
    latencyMs: { p50: r(percentile(sorted, 50)), p95: r(percentile(sorted, 95)), p99: r(percentile(sorted, 99)), max: r(sorted.at(-1) ?? 0) },
    outcomes: notifier.outcomes,
    rssMiB: rss,
    window,
    rssGrowth: Math.round(((rss.afterLastWindow - rss.afterFirstWindow) / rss.afterFirstWindow) * 1000) / 1000,
    redisUsedMiB: { start: redisStart, end: redisEnd },
    picturesUsed: new Set(plan).size,
  };
}
