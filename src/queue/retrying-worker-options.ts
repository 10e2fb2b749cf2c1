import type { WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { genguardBackoff } from './genguard-backoff.js';

export interface LockSettings {
  /** Job lock; renewed while the job runs, so it only bounds how fast a dead worker's job moves on. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export interface RetryingWorkerSettings extends LockSettings {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** Base of the `genguard` backoff. */
  backoffMs: number;
  /** Rate limit shared by every worker of the queue. */
  limiter?: { max: number; duration: number };
}

/**
 * BullMQ options of the workers whose jobs retry (detect and notify): the `genguard` backoff between
 * attempts, and a job that killed its worker more than twice fails instead of running again. Not
 * started on construction, so the owner attaches its listeners before start() runs it.
 */
export function retryingWorkerOptions(settings: RetryingWorkerSettings): WorkerOptions {
  return {
    connection: settings.connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    maxStalledCount: 2,
    settings: { backoffStrategy: genguardBackoff(settings.backoffMs) },
    ...(settings.limiter ? { limiter: settings.limiter } : {}),
    autorun: false,
  };
}
