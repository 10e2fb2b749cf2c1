import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { QueueConfig } from '../config/load-config.js';
import { API_QUEUE_NAME } from './api-job.js';
import { ApiProcessor } from './api-processor.js';
import { ApiWorker } from './api-worker.js';
import { DetectWorker } from './detect-worker.js';
import { InflightDedupe } from './inflight-dedupe.js';
import { MetricsServer } from './metrics-server.js';
import type { NotifierSet } from './notifier.js';
import { NotifyLedger } from './notify-ledger.js';
import { NotifyWorker } from './notify-worker.js';
import { BACKOFF_TYPE, QUEUE_NAMES, RedisKeys, type Lane } from './queue-layout.js';
import { QueueMetrics } from './queue-metrics.js';
import { closeRedis, createWorkerRedis } from './redis-connections.js';
import { ResultCache } from './result-cache.js';
import { ScanProcessor } from './scan-processor.js';
import type { BackendProvider, CredentialsResolver, ImageSourceLoader } from './worker-deps.js';

/** `api`: the HTTP API's lane (src/queue/api-worker.ts), on by default when config.queue.api.concurrency > 0. */
export type WorkerRole = Lane | 'notify' | 'api';

export interface WorkerRuntimeOptions {
  /** config.queue (GENGUARD_* queue variables). */
  queue: QueueConfig;
  /** Which queues this process serves; default: detect, remote, notify, and slow when its concurrency > 0. */
  roles?: WorkerRole[];
  backends: BackendProvider;
  loader: ImageSourceLoader;
  credentials?: CredentialsResolver;
  /** Platform notifiers; a platform without one gets a log-only notifier. */
  notifiers?: NotifierSet;
  /** Alert threshold for jobs that carry none (GENGUARD_AI_THRESHOLD). */
  defaultAlertThreshold: number;
  /** Intake's pixel limit, applied when hashing for the perceptual cache. */
  maxPixels?: number;
  logger?: Logger;
  /** Metrics collector; default: a fresh registry. The HTTP server starts when queue.metrics.port > 0. */
  metrics?: QueueMetrics;
}

/**
 * Everything one `genguard worker` process runs: the detection lanes it serves, the notify
 * worker, the shared cache / dedupe / ledger, and the metrics server. `close()` drains: in-flight
 * jobs finish, no new ones start.
 */
export class WorkerRuntime {
  readonly metrics: QueueMetrics;
  readonly redis: Redis;
  readonly #o: WorkerRuntimeOptions;
  readonly #logger: Logger;
  readonly #detectWorkers: DetectWorker[] = [];
  #notifyWorker: NotifyWorker | undefined;
  #apiWorker: ApiWorker | undefined;
  readonly #queues: Queue[] = [];
  #server: MetricsServer | undefined;
  #metricsPort: number | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: WorkerRuntimeOptions) {
    this.#o = options;
    this.#logger = options.logger ?? pino({ level: 'info' });
    this.metrics = options.metrics ?? new QueueMetrics();
    this.redis = createWorkerRedis(options.queue.redisUrl, (error) =>
      this.#logger.warn({ err: error.message }, 'redis connection error'),
    );
  }

  get roles(): WorkerRole[] {
    const { roles, queue } = this.#o;
    return roles ?? ['detect', 'remote', ...(queue.concurrency.slow > 0 ? (['slow'] as const) : []), 'notify', ...((queue.api?.concurrency ?? 2) > 0 ? (['api'] as const) : [])];
  }

  /** The bound metrics port, once started (when the server is enabled). */
  get metricsPort(): number | undefined {
    return this.#metricsPort;
  }

  async start(): Promise<void> {
    const q = this.#o.queue;
    const keys = new RedisKeys(q.prefix);
    const locks = { lockDurationMs: q.lockMs, stalledIntervalMs: q.stalledIntervalMs };
    const roles = this.roles;
    const cache = q.cache.enabled
      ? new ResultCache({ redis: this.redis, keys, ttlSeconds: q.cache.ttlSeconds, maxDistance: q.cache.phashDistance })
      : null;
    // A killed holder frees its images as fast as its jobs: both locks last lockMs.
    const dedupe = new InflightDedupe({ redis: this.redis, lockTtlMs: q.lockMs });
    const notifyQueue = this.#queue(QUEUE_NAMES.notify);
    // Platform hiccups are short: notify retries start sooner than detection retries.
    const notifyBackoffMs = Math.round(q.attempts.backoffMs / 2);
    const notifyJobOptions: JobsOptions = {
      attempts: q.attempts.notify,
      backoff: { type: BACKOFF_TYPE, delay: notifyBackoffMs },
      removeOnComplete: { age: q.retention.keepCompletedSeconds },
      removeOnFail: { age: q.retention.keepFailedSeconds },
    };
    for (const lane of ['detect', 'remote', 'slow'] as const) {
      if (!roles.includes(lane)) continue;
      const slow = lane === 'slow';
      const processor = new ScanProcessor({
        lane,
        backends: this.#o.backends,
        loader: this.#o.loader,
        ...(this.#o.credentials ? { credentials: this.#o.credentials } : {}),
        cache,
        dedupe,
        keys,
        timeoutMs: slow ? slowLaneTimeout(q) : q.timeouts.detectMs,
        timeoutRetryable: !slow,
        ...(this.#o.maxPixels === undefined ? {} : { maxPixels: this.#o.maxPixels }),
        metrics: this.metrics,
        logger: this.#logger,
      });
      const limiter = lane === 'remote' && q.remoteRateLimit ? { max: q.remoteRateLimit.max, duration: q.remoteRateLimit.durationMs } : undefined;
      this.#detectWorkers.push(
        new DetectWorker({
          ...locks,
          connection: this.redis,
          prefix: q.prefix,
          lane,
          concurrency: slow ? Math.max(1, q.concurrency.slow) : q.concurrency.detect,
          processor,
          notifyQueue,
          notifyJobOptions,
          defaultAlertThreshold: this.#o.defaultAlertThreshold,
          backoffMs: q.attempts.backoffMs,
          ...(limiter ? { limiter } : {}),
          metrics: this.metrics,
          logger: this.#logger,
        }),
      );
      this.metrics.watch(this.#queue(QUEUE_NAMES[lane]));
    }
    if (roles.includes('api')) {
      const processor = new ApiProcessor({
        redis: this.redis,
        backends: this.#o.backends,
        loader: this.#o.loader,
        cache,
        dedupe,
        keys,
        timeoutMs: q.timeouts.detectMs,
        ...(this.#o.maxPixels === undefined ? {} : { maxPixels: this.#o.maxPixels }),
        metrics: this.metrics,
        logger: this.#logger,
      });
      this.#apiWorker = new ApiWorker({ ...locks, connection: this.redis, prefix: q.prefix, concurrency: Math.max(1, q.api?.concurrency ?? 2), processor, metrics: this.metrics, logger: this.#logger });
      this.metrics.watch(this.#queue(API_QUEUE_NAME));
    }
    if (roles.includes('notify')) {
      this.#notifyWorker = new NotifyWorker({
        ...locks,
        connection: this.redis,
        prefix: q.prefix,
        concurrency: q.concurrency.notify,
        notifiers: this.#o.notifiers ?? {},
        // A claim outlives the job lock, so a live but slow poster keeps it while its job is retried
        // elsewhere; 2 × lock is the 60 s default with production settings, seconds in tests.
        ledger: new NotifyLedger({ redis: this.redis, keys, claimTtlMs: Math.max(2 * q.lockMs, 5_000) }),
        backoffMs: notifyBackoffMs,
        metrics: this.metrics,
        logger: this.#logger,
      });
    }
    this.metrics.watch(notifyQueue);
    for (const w of this.#detectWorkers) w.start();
    this.#notifyWorker?.start();
    this.#apiWorker?.start();
    await Promise.all([...this.#detectWorkers.map((w) => w.worker.waitUntilReady()), this.#notifyWorker?.worker.waitUntilReady(), this.#apiWorker?.worker.waitUntilReady()]);
    if (q.metrics.port > 0) {
      this.#server = new MetricsServer({ metrics: this.metrics, port: q.metrics.port, host: q.metrics.host, health: () => this.healthy() });
      this.#metricsPort = await this.#server.listen();
    }
    this.#logger.info({ roles, prefix: q.prefix, metricsPort: this.#metricsPort }, 'genguard worker started');
  }

  /** Serves `/healthz`: workers running and Redis answering. */
  async healthy(): Promise<boolean> {
    if (this.#closing) return false;
    const running = [...this.#detectWorkers.map((w) => w.worker), ...(this.#notifyWorker ? [this.#notifyWorker.worker] : []), ...(this.#apiWorker ? [this.#apiWorker.worker] : [])];
    if (!running.every((w) => w.isRunning())) return false;
    if (this.redis.status !== 'ready') return false;
    // Worker connections wait out outages instead of failing, so bound the probe.
    const timeout = new Promise<string>((resolve) => setTimeout(resolve, 1_000, 'timeout').unref());
    return (await Promise.race([this.redis.ping(), timeout])) === 'PONG';
  }

  /** Drains (in-flight jobs finish, no new ones start) unless `force`; idempotent. */
  close(force = false): Promise<void> {
    this.#closing ??= (async () => {
      this.#logger.info({ force }, 'genguard worker stopping');
      await Promise.allSettled([...this.#detectWorkers.map((w) => w.close(force)), this.#notifyWorker?.close(force), this.#apiWorker?.close(force)]);
      // Notifiers may hold connections of their own (src/cli/wiring.ts); this runtime is their last user.
      await Promise.allSettled(Object.values(this.#o.notifiers ?? {}).map((n) => n?.close?.()));
      await this.#server?.close();
      await Promise.allSettled(this.#queues.map((q) => q.close()));
      await closeRedis(this.redis);
    })();
    return this.#closing;
  }

  #queue(name: string): Queue {
    let queue = this.#queues.find((q) => q.name === name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: this.#o.queue.prefix });
      queue.on('error', (error) => this.#logger.warn({ err: error.message, queue: name }, 'queue error'));
      this.#queues.push(queue);
    }
    return queue;
  }
}

/** The slow lane's cap: its own timeout, or the largest per-model one if that is longer. */
function slowLaneTimeout(q: QueueConfig): number {
  return Math.max(q.timeouts.slowMs, ...Object.values(q.timeouts.modelMs));
}
