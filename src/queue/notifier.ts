import { z } from 'zod';
import type { DetectionResult } from '../detector/result.js';
import { ERROR_CODES, type ErrorCode } from '../errors/genguard-error.js';
import { scanJobSchema, type Platform } from './scan-job.js';

/**
 * The notify step: what the detect step hands over once a scan has an outcome, and the
 * interface platform adapters implement to post it. Detection and notification are separate
 * queues, so a platform outage retries only the posting and a detection retry never posts twice.
 */

const detectionResultSchema = z.custom<DetectionResult>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { ensemble_score?: unknown }).ensemble_score === 'number' &&
    typeof (v as { verdict?: unknown }).verdict === 'string',
  'expected a DetectionResult',
);

export const cacheHitSchema = z.object({
  /** `exact`: same bytes; `perceptual`: a near-identical picture (re-encoded, resized); `inflight`: a concurrent job's run. */
  kind: z.enum(['exact', 'perceptual', 'inflight']),
  /** Hamming distance of the perceptual hashes (0–64), for `perceptual`. */
  distance: z.number().int().min(0).max(64).optional(),
  /** Epoch ms when the reused verdict was computed. */
  computedAt: z.number().int().optional(),
});
export type CacheHit = z.infer<typeof cacheHitSchema>;

const errorCodeSchema = z.custom<ErrorCode>((v) => typeof v === 'string' && v in ERROR_CODES, 'unknown error code');

export const resultNotifySchema = z.object({
  kind: z.literal('result'),
  scan: scanJobSchema,
  result: detectionResultSchema,
  /** Score ≥ the job's alert threshold: moderators get an alert (after the reply). */
  alert: z.boolean(),
  /** The threshold that was applied. */
  alertThreshold: z.number().min(0).max(1),
  /** Set when no model ran for this job. */
  cache: cacheHitSchema.optional(),
  /** The image judged, so adapters can remember moderator dismissals by hash (same bytes, near-identical copies). */
  image: z
    .object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), phash: z.string().regex(/^[0-9a-f]{16}$/).optional() })
    .optional(),
  /** Backend id and model-set version that produced the verdict. */
  backend: z.string(),
  modelSetVersion: z.string(),
  /** Epoch ms when detection finished (or the cache answered). */
  finishedAt: z.number().int(),
});

export const errorNotifySchema = z.object({
  kind: z.literal('error'),
  scan: scanJobSchema,
  /** A GenguardError's stable code and message; `userMessage(code)` has text fit for the requester. */
  error: z.object({ code: errorCodeSchema, message: z.string(), retryable: z.boolean() }),
  /** Detection attempts made before giving up. */
  attempts: z.number().int().min(1),
  finishedAt: z.number().int(),
});

export const notifyJobSchema = z.discriminatedUnion('kind', [resultNotifySchema, errorNotifySchema]);
export type NotifyJob = z.infer<typeof notifyJobSchema>;
export type ResultNotifyJob = z.infer<typeof resultNotifySchema>;
export type ErrorNotifyJob = z.infer<typeof errorNotifySchema>;

export interface NotifyContext {
  /**
   * Stable across retries of this one step (reply or alert of this scan): 24 lowercase hex
   * characters, so it fits a Discord message `nonce` (≤ 25) with `enforce_nonce: true`, which
   * makes the platform itself drop a duplicate post.
   */
  idempotencyKey: string;
  /**
   * 1 on the first try of this notify job; more on any later run, including one after a worker
   * died mid-job (a stalled job). A notifier without a platform-side idempotency key (Slack) looks
   * for an earlier post when this is above 1.
   */
  attempt: number;
  /** Aborted when the worker shuts down hard or the job is cancelled. */
  signal: AbortSignal;
}

/**
 * Posts answers on one platform. The notify worker guarantees one successful call per step and
 * scan (per-step ledger keys in Redis); a call that throws is retried with backoff.
 *
 * Throw a GenguardError: `platform_error` (retryable, the default for outages and 5xx; set
 * `retryAfterSeconds` on 429), or a non-retryable code such as `permission_denied` /
 * `not_found` when the post can never succeed (channel gone, interaction token expired) — the
 * job then fails at once and is kept for inspection.
 */
export interface Notifier {
  readonly platform: Platform;
  /**
   * Answers at `job.scan.reply`, for results and failures alike. Whether to post anything for an
   * automatic scan of a likely-real image (settings mode `silent`, `react`, …) is the adapter's
   * call; returning without posting counts as done.
   */
  reply(job: NotifyJob, context: NotifyContext): Promise<void>;
  /**
   * Alerts moderators (e.g. in `job.scan.alertChannelId`); called after `reply`, only for
   * results with `alert: true`.
   */
  alert(job: ResultNotifyJob, context: NotifyContext): Promise<void>;
  close?(): Promise<void>;
}

/** The notifiers a worker process holds; a platform without one falls back to a log-only notifier. */
export type NotifierSet = Partial<Record<Platform, Notifier>>;
