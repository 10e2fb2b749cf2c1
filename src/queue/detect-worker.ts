import { UnrecoverableError, Worker, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GenguardError, isGenguardError, toGenguardError } from '../errors/genguard-error.js';
import type { ErrorNotifyJob, NotifyJob, ResultNotifyJob } from './notifier.js';
import { QUEUE_NAMES, type Lane } from './queue-layout.js';
import type { QueueMetrics } from './queue-metrics.js';
import { retryingWorkerOptions, type LockSettings } from './retrying-worker-options.js';
import type { ScanProcessor } from './scan-processor.js';
import { parseScanJob, type ScanJob } from './scan-job.js';

export interface DetectWorkerOptions extends LockSettings {
  /** A worker connection (createWorkerRedis); BullMQ duplicates it for blocking reads. */
  connection: Redis;
  prefix: string;
  lane: Lane;
  concurrency: number;
  processor: ScanProcessor;
  /** The notify queue, on a worker connection (waits out a Redis outage instead of failing). */
  notifyQueue: Queue;
  /** attempts / backoff / retention of the notify jobs this worker creates. */
  notifyJobOptions: JobsOptions;
  /** Used when a job carries no alertThreshold (GENGUARD_AI_THRESHOLD). */
  defaultAlertThreshold: number;
  /** Base of the `genguard` backoff. */
  backoffMs: number;
  /** Rate limit shared by every worker of this lane's queue. */
  limiter?: { max: number; duration: number };
  metrics?: QueueMetrics;
  logger: Logger;
}

/** What a detect job returns (kept with the completed job, for inspection). */
export interface DetectJobReturn {
  score: number;
  verdict: string;
  cache: string | null;
}

/**
 * Runs one detection lane: a BullMQ worker whose processor is a ScanProcessor, which hands every
 * final outcome — a verdict or a failure the requester must hear about — to the notify queue.
 * Retryable failures retry with backoff; non-retryable ones fail at once (UnrecoverableError).
 */
export class DetectWorker {
  readonly worker: Worker<unknown, DetectJobReturn>;
  readonly #o: DetectWorkerOptions;

  constructor(options: DetectWorkerOptions) {
    this.#o = options;
    const queueName = QUEUE_NAMES[options.lane];
    this.worker = new Worker<unknown, DetectJobReturn>(queueName, (job, _token, signal) => this.#run(job, signal), retryingWorkerOptions(options));
    this.worker.on('error', (error) => options.logger.error({ err: error, queue: queueName }, 'detect worker error'));
    this.worker.on('completed', () => options.metrics?.jobsFinished.inc({ queue: queueName, outcome: 'completed' }));
    this.worker.on('failed', (job, error) => {
      const outcome = job?.finishedOn ? 'failed' : 'retried';
      options.metrics?.jobsFinished.inc({ queue: queueName, outcome });
      options.logger.warn({ jobId: job?.id, queue: queueName, outcome, reason: error.message }, 'detect job failed');
      // A job whose worker died more than maxStalledCount times is failed by BullMQ without running
      // the processor (a deferred failure), so #run never tells the requester: do it here.
      if (job?.deferredFailure && job.finishedOn) {
        void this.#notifyStalled(job).catch((e: unknown) => options.logger.error({ err: e, jobId: job.id }, 'could not report a stalled job'));
      }
    });
    this.worker.on('stalled', (jobId) => options.logger.warn({ jobId, queue: queueName }, 'detect job stalled'));
  }

  /** Starts fetching jobs (not awaited: BullMQ's run() resolves when the worker closes). */
  start(): void {
    void this.worker.run().catch((error: unknown) => this.#o.logger.error({ err: error }, 'detect worker stopped'));
  }

  async #run(job: Job<unknown, DetectJobReturn>, signal: AbortSignal | undefined): Promise<DetectJobReturn> {
    let scan: ScanJob;
    try {
      scan = parseScanJob(job.data);
    } catch (error) {
      // Without a valid job there is nobody to tell; keep it in `failed` for inspection.
      throw new UnrecoverableError(toGenguardError(error).message);
    }
    const abortSignal = signal ?? new AbortController().signal;
    try {
      const outcome = await this.#o.processor.process(scan, abortSignal);
      const alertThreshold = scan.alertThreshold ?? this.#o.defaultAlertThreshold;
      const notice: ResultNotifyJob = {
        kind: 'result',
        scan,
        result: outcome.result,
        alert: outcome.result.ensemble_score >= alertThreshold,
        alertThreshold,
        backend: outcome.backend,
        modelSetVersion: outcome.modelSetVersion,
        finishedAt: outcome.finishedAt,
        ...(outcome.cache ? { cache: outcome.cache } : {}),
        ...(outcome.image ? { image: outcome.image } : {}),
      };
      await this.#notify(notice);
      return { score: outcome.result.ensemble_score, verdict: outcome.result.verdict, cache: outcome.cache?.kind ?? null };
    } catch (thrown) {
      if (abortSignal.aborted) {
        throw new GenguardError('internal', 'detection was cancelled', { cause: thrown, retryable: true });
      }
      // Unknown errors (a Redis hiccup, a bug) are retried: known permanent failures are GenguardErrors.
      const error = isGenguardError(thrown)
        ? thrown
        : new GenguardError('internal', thrown instanceof Error ? thrown.message : String(thrown), { cause: thrown, retryable: true });
      const attempts = job.opts.attempts ?? 1;
      const final = !error.retryable || job.attemptsMade + 1 >= attempts;
      if (final) {
        const notice: ErrorNotifyJob = {
          kind: 'error',
          scan,
          error: { code: error.code, message: error.message, retryable: error.retryable },
          attempts: job.attemptsMade + 1,
          finishedAt: Date.now(),
        };
        await this.#notify(notice);
      }
      if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    }
  }

  async #notifyStalled(job: Job<unknown, DetectJobReturn>): Promise<void> {
    let scan: ScanJob;
    try {
      scan = parseScanJob(job.data);
    } catch {
      return;
    }
    await this.#notify({
      kind: 'error',
      scan,
      error: {
        code: 'internal',
        message: `checking this image stopped its worker ${job.stalledCounter} times (a crash or running out of memory); it was not checked`,
        retryable: false,
      },
      attempts: Math.max(1, job.attemptsMade),
      finishedAt: Date.now(),
    });
  }

  /**
   * The notify job's id is the scan id: a detection that runs again (stalled worker, retry after
   * the hand-over) adds nothing while the first notify job is kept, and the notify ledger covers
   * the rest.
   */
  async #notify(notice: NotifyJob): Promise<void> {
    await this.#o.notifyQueue.add(notice.kind, notice, { ...this.#o.notifyJobOptions, jobId: notice.scan.id });
  }

  async close(force = false): Promise<void> {
    await this.worker.close(force);
  }
}
