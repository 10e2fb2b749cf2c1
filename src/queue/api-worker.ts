import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import { API_QUEUE_NAME, parseApiJob, type ApiJob, type ApiJobResult } from './api-job.js';
import type { ApiProcessor } from './api-processor.js';
import type { QueueMetrics } from './queue-metrics.js';

export interface ApiWorkerOptions {
  /** A worker connection (createWorkerRedis); BullMQ duplicates it for blocking reads. */
  connection: Redis;
  prefix: string;
  concurrency: number;
  processor: ApiProcessor;
  lockDurationMs: number;
  stalledIntervalMs: number;
  metrics?: QueueMetrics;
  logger: Logger;
}

/**
 * Runs the `api` queue. Every failure is final (one attempt): a person's HTTP request is waiting
 * and its deadline is short, so the API answers with the error instead of retrying behind the
 * client's back. The failure reason is `<code>: <message>`, which ApiSubmitter turns back into a
 * GenguardError and the server into the vendor's error status.
 */
export class ApiWorker {
  readonly worker: Worker<unknown, ApiJobResult>;
  readonly #o: ApiWorkerOptions;

  constructor(options: ApiWorkerOptions) {
    this.#o = options;
    this.worker = new Worker<unknown, ApiJobResult>(API_QUEUE_NAME, (job, _token, signal) => this.#run(job, signal), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      // A worker killed mid-request: one more try elsewhere if the deadline allows (the processor checks).
      maxStalledCount: 1,
      autorun: false,
    });
    const { logger, metrics } = options;
    this.worker.on('error', (error) => logger.error({ err: error, queue: API_QUEUE_NAME }, 'api worker error'));
    this.worker.on('completed', () => metrics?.jobsFinished.inc({ queue: API_QUEUE_NAME, outcome: 'completed' }));
    this.worker.on('failed', () => metrics?.jobsFinished.inc({ queue: API_QUEUE_NAME, outcome: 'failed' }));
  }

  start(): void {
    void this.worker.run().catch((error: unknown) => this.#o.logger.error({ err: error }, 'api worker stopped'));
  }

  async #run(job: Job<unknown, ApiJobResult>, signal: AbortSignal | undefined): Promise<ApiJobResult> {
    const log = this.#o.logger.child({ jobId: job.id, queue: API_QUEUE_NAME });
    let request: ApiJob;
    try {
      request = parseApiJob(job.data);
    } catch (error) {
      throw new UnrecoverableError(`bad_request: ${toGenguardError(error).message}`);
    }
    const started = Date.now();
    try {
      const outcome = await this.#o.processor.process(request, signal ?? new AbortController().signal);
      log.info(
        { route: request.route, score: outcome.result.ensemble_score, verdict: outcome.result.verdict, cache: outcome.cache, ms: Date.now() - started },
        'api detection done',
      );
      return outcome;
    } catch (thrown) {
      const error = signal?.aborted ? new GenguardError('internal', 'detection was cancelled', { cause: thrown }) : toGenguardError(thrown);
      log.warn({ route: request.route, code: error.code, reason: error.message, ms: Date.now() - started }, 'api detection failed');
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
  }

  /** True while the worker runs (for health checks). */
  isRunning(): boolean {
    return this.worker.isRunning();
  }

  async close(force = false): Promise<void> {
    await this.worker.close(force);
  }
}
