import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load-config.js';
import type { BackendId } from '../detector/backend.js';
import { GenguardError } from '../errors/genguard-error.js';
import { BACKOFF_TYPE, laneFor, PRIORITY, QUEUE_NAMES, type Lane } from './queue-layout.js';
import { closeRedis, createProducerRedis, waitForReady } from './redis-connections.js';
import { isInteractive, parseScanJob, type ScanJobInput } from './scan-job.js';

export interface ScanProducerOptions {
  /** Used when `redis` is not given; the producer then owns (and closes) its connection. */
  redisUrl?: string;
  /** A connection made with createProducerRedis (fail-fast policy); the caller closes it. */
  redis?: Redis;
  prefix: string;
  /** The deployment's GENGUARD_BACKEND: decides the lane of jobs without a backend override. */
  defaultBackend: BackendId;
  /** Longest wait for Redis before `enqueue` rejects with `queue_unavailable`. */
  addTimeoutMs?: number;
  attempts: number;
  backoffMs: number;
  retention: { keepCompletedSeconds: number; keepFailedSeconds: number };
  onError?: (error: Error) => void;
}

export interface EnqueuedScan {
  jobId: string;
  lane: Lane;
}

/**
 * What bot adapters use to queue scans. Validates the job (bad input → `bad_request`), picks the
 * lane and priority, and adds it under the scan id (so a repeated enqueue of the same scan is a
 * no-op while the first job is kept).
 *
 * Offline policy: if Redis cannot be reached within `addTimeoutMs` (GENGUARD_QUEUE_ADD_TIMEOUT_MS,
 * default 5 s), `enqueue` rejects with a retryable GenguardError `queue_unavailable`; the adapter
 * tells the user to try again. Nothing is buffered in the process, and a rejected enqueue is never
 * replayed later; the connection keeps reconnecting, so the next call after Redis returns works.
 */
export class ScanProducer {
  readonly #o: ScanProducerOptions;
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #queues = new Map<Lane, Queue>();
  #readyWait: Promise<boolean> | undefined;

  constructor(options: ScanProducerOptions) {
    this.#o = options;
    this.#ownsRedis = !options.redis;
    this.#redis = options.redis ?? createProducerRedis(options.redisUrl ?? 'redis://127.0.0.1:6379', options.onError);
  }

  static fromConfig(config: Config, overrides: Partial<ScanProducerOptions> = {}): ScanProducer {
    const q = config.queue;
    return new ScanProducer({
      redisUrl: q.redisUrl,
      prefix: q.prefix,
      defaultBackend: config.env.GENGUARD_BACKEND,
      addTimeoutMs: q.addTimeoutMs,
      attempts: q.attempts.detect,
      backoffMs: q.attempts.backoffMs,
      retention: q.retention,
      ...overrides,
    });
  }

  async enqueue(input: ScanJobInput): Promise<EnqueuedScan> {
    const job = parseScanJob(input);
    const lane = laneFor(job, this.#o.defaultBackend);
    const timeoutMs = this.#o.addTimeoutMs ?? 5_000;
    const started = Date.now();
    if (!(await this.#ready(timeoutMs))) {
      throw new GenguardError('queue_unavailable', `Redis is unreachable (waited ${timeoutMs} ms); scan not queued`);
    }
    const options: JobsOptions = {
      jobId: job.id,
      priority: isInteractive(job) ? PRIORITY.interactive : PRIORITY.auto,
      attempts: this.#o.attempts,
      backoff: { type: BACKOFF_TYPE, delay: this.#o.backoffMs },
      removeOnComplete: { age: this.#o.retention.keepCompletedSeconds },
      removeOnFail: { age: this.#o.retention.keepFailedSeconds },
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#queue(lane).add(lane, job, options),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), Math.max(1, timeoutMs - (Date.now() - started)));
        }),
      ]);
    } catch (error) {
      throw new GenguardError('queue_unavailable', `could not queue the scan: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    return { jobId: job.id, lane };
  }

  /** One shared 'ready' wait, however many enqueues are waiting. */
  #ready(timeoutMs: number): Promise<boolean> {
    if (this.#redis.status === 'ready') return Promise.resolve(true);
    this.#readyWait ??= waitForReady(this.#redis, 60_000).finally(() => {
      this.#readyWait = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.#readyWait,
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  #queue(lane: Lane): Queue {
    let queue = this.#queues.get(lane);
    if (!queue) {
      queue = new Queue(QUEUE_NAMES[lane], { connection: this.#redis, prefix: this.#o.prefix });
      queue.on('error', (error) => this.#o.onError?.(error));
      this.#queues.set(lane, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
    if (this.#ownsRedis) await closeRedis(this.#redis);
  }
}
