import { createHash } from 'node:crypto';
import type { BackendId } from '../detector/backend.js';
import type { ScanJob } from './scan-job.js';

/**
 * Queue names and Redis key layout. Every key starts with the deployment prefix
 * (GENGUARD_QUEUE_PREFIX), so several deployments can share one Redis and a test can delete
 * everything it wrote with `SCAN MATCH <prefix>:*`.
 *
 * Detection runs on lanes, one BullMQ queue each, so their workers scale and fail apart:
 * - `detect`: the local ensemble or the cascade;
 * - `remote`: jobs whose backend is a remote API (bitmind, bijou), behind a rate limiter that
 *   BullMQ enforces across all workers;
 * - `slow`: opt-in deep scans whose backend includes slow models, with their own timeout.
 * Each lane hands its outcome to the `notify` queue.
 */
export type Lane = 'detect' | 'remote' | 'slow';
export const LANES: readonly Lane[] = ['detect', 'remote', 'slow'];

export const QUEUE_NAMES = {
  detect: 'detect',
  remote: 'detect-remote',
  slow: 'detect-slow',
  notify: 'notify',
} as const satisfies Record<Lane | 'notify', string>;

/** BullMQ priorities (lower runs first): a person waiting overtakes automatic scans. */
export const PRIORITY = { interactive: 1, auto: 10 } as const;

/** The custom backoff type registered by every genguard worker (see genguardBackoff). */
export const BACKOFF_TYPE = 'genguard';

const REMOTE_BACKENDS: ReadonlySet<BackendId> = new Set(['bitmind', 'bijou']);

/**
 * The lane a scan runs on, given the deployment's default backend. Remote backends have no slow
 * members, so a deep scan with one stays behind the remote rate limiter.
 */
export function laneFor(job: Pick<ScanJob, 'deep' | 'backend'>, defaultBackend: BackendId): Lane {
  if (REMOTE_BACKENDS.has(job.backend ?? defaultBackend)) return 'remote';
  return job.deep ? 'slow' : 'detect';
}

/** Short, key-safe tag of a model-set version ("manifest version + backend id"). */
export function versionTag(modelSetVersion: string): string {
  return createHash('sha256').update(modelSetVersion).digest('hex').slice(0, 16);
}

/** Builders for the non-BullMQ keys genguard keeps beside the queues. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Cached verdict for exact bytes. */
  cacheExact(tag: string, sha256: string): string {
    return `${this.prefix}:cache:${tag}:sha:${sha256}`;
  }

  /** Perceptual index: one set per (band, 16-bit band value). */
  cacheBand(tag: string, band: number, value: string): string {
    return `${this.prefix}:cache:${tag}:ph${band}:${value}`;
  }

  /** In-flight lock of one detection (image × model set). */
  inflightLock(tag: string, sha256: string): string {
    return `${this.prefix}:inflight:${tag}:${sha256}:lock`;
  }

  /** Short-lived outcome of an in-flight detection, read by the jobs that waited for it. */
  inflightOutcome(tag: string, sha256: string): string {
    return `${this.prefix}:inflight:${tag}:${sha256}:outcome`;
  }

  /** Notify ledger: "reply posted" / "alert posted" for one scan. */
  notifyStep(scanId: string, step: string): string {
    return `${this.prefix}:notified:${scanId}:${step}`;
  }
}
