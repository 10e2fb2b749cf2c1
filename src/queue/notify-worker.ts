import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import { LogNotifier } from './log-notifier.js';
import { notifyJobSchema, type Notifier, type NotifierSet, type NotifyJob } from './notifier.js';
import type { NotifyLedger } from './notify-ledger.js';
import { QUEUE_NAMES } from './queue-layout.js';
import type { QueueMetrics } from './queue-metrics.js';
import { retryingWorkerOptions, type LockSettings } from './retrying-worker-options.js';

export interface NotifyWorkerOptions extends LockSettings {
  connection: Redis;
  prefix: string;
  concurrency: number;
  notifiers: NotifierSet;
  ledger: NotifyLedger;
  backoffMs: number;
  metrics?: QueueMetrics;
  logger: Logger;
}

type Step = 'reply' | 'alert';

/**
 * Posts outcomes: the reply to the requester, then (for results at or above the alert
 * threshold) the moderator alert. Each step goes through the NotifyLedger, so a retry after a
 * failed alert does not post the reply again, and a notify job enqueued twice posts once.
 */
export class NotifyWorker {
  readonly worker: Worker<unknown, { posted: Step[] }>;
  readonly #o: NotifyWorkerOptions;
  readonly #fallback: Notifier;

  constructor(options: NotifyWorkerOptions) {
    this.#o = options;
    this.#fallback = new LogNotifier(options.logger);
    this.worker = new Worker(QUEUE_NAMES.notify, (job, _token, signal) => this.#run(job, signal), retryingWorkerOptions(options));
    const queue = QUEUE_NAMES.notify;
    this.worker.on('error', (error) => options.logger.error({ err: error, queue }, 'notify worker error'));
    this.worker.on('completed', () => options.metrics?.jobsFinished.inc({ queue, outcome: 'completed' }));
    this.worker.on('failed', (job, error) => {
      const outcome = job?.finishedOn ? 'failed' : 'retried';
      options.metrics?.jobsFinished.inc({ queue, outcome });
      options.logger.warn({ jobId: job?.id, outcome, reason: error.message }, 'notify job failed');
    });
  }

  start(): void {
    void this.worker.run().catch((error: unknown) => this.#o.logger.error({ err: error }, 'notify worker stopped'));
  }

  async #run(job: Job<unknown, { posted: Step[] }>, signal: AbortSignal | undefined): Promise<{ posted: Step[] }> {
    const parsed = notifyJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid notify job: ${z.prettifyError(parsed.error)}`);
    const notice = parsed.data;
    const notifier = this.#o.notifiers[notice.scan.platform] ?? this.#fallback;
    const posted: Step[] = [];
    try {
      if (await this.#step(notice, 'reply', job, signal, (ctx) => notifier.reply(notice, ctx))) posted.push('reply');
      if (notice.kind === 'result' && notice.alert) {
        if (await this.#step(notice, 'alert', job, signal, (ctx) => notifier.alert(notice, ctx))) posted.push('alert');
      }
    } catch (thrown) {
      const error = toGenguardError(thrown, 'platform_error');
      if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    }
    return { posted };
  }

  /** Runs one step at most once per scan; false when an earlier attempt already posted it. */
  async #step(
    notice: NotifyJob,
    step: Step,
    job: Job,
    jobSignal: AbortSignal | undefined,
    post: (ctx: { idempotencyKey: string; attempt: number; signal: AbortSignal }) => Promise<void>,
  ): Promise<boolean> {
    const { ledger, metrics } = this.#o;
    const platform = notice.scan.platform;
    const scanId = notice.scan.id;
    const claim = await ledger.claim(scanId, step);
    if (claim.state === 'done') {
      metrics?.notifications.inc({ platform, step, outcome: 'skipped_duplicate' });
      return false;
    }
    if (claim.state === 'busy') {
      // Usually a worker that died mid-post (SIGKILL, OOM): its claim lapses after claimTtlMs. Retrying
      // sooner would spend every attempt while the claim still stands, and the step (and the alert
      // after a reply) would be lost; so the retry waits for the claim to run out.
      throw new GenguardError('platform_error', `${step} for ${scanId} is being posted by another attempt`, {
        retryable: true,
        retryAfterSeconds: Math.ceil(claim.remainingMs / 1000),
      });
    }
    // Give up before the claim lapses, so two attempts never post at the same time.
    const deadline = AbortSignal.timeout(Math.floor(ledger.claimTtlMs * 0.8));
    const signal = jobSignal ? AbortSignal.any([jobSignal, deadline]) : deadline;
    try {
      // attemptsStarted also counts a run after a stalled (killed) worker, which attemptsMade does
      // not: exactly the retry that may follow a post the dead worker never recorded.
      const attempt = Math.max(job.attemptsMade + 1, job.attemptsStarted);
      await post({ idempotencyKey: ledger.idempotencyKey(scanId, step), attempt, signal });
    } catch (error) {
      metrics?.notifications.inc({ platform, step, outcome: 'failed' });
      await ledger.release(scanId, step, claim.token).catch(() => undefined);
      throw error;
    }
    await ledger.markDone(scanId, step);
    metrics?.notifications.inc({ platform, step, outcome: 'posted' });
    return true;
  }

  async close(force = false): Promise<void> {
    await this.worker.close(force);
  }
}
