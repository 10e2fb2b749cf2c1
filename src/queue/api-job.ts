import { z } from 'zod';
import type { DetectionResult } from '../detector/result.js';
import { GenguardError } from '../errors/genguard-error.js';
import { backendIdSchema, jobIdSchema } from './scan-job.js';

/**
 * The HTTP API's lane: one BullMQ queue, `api`, served by every `genguard worker` (its own
 * concurrency, GENGUARD_API_CONCURRENCY), so API traffic scales with the worker count and never
 * waits behind a backlog of automatic chat scans.
 *
 * Image bytes never sit in job data (job data is kept with completed and failed jobs, and copied
 * into events): the API process parks them under a short-lived Redis key — TTL = the request's
 * timeout plus a small margin — and the job names that key. The API process deletes the key once
 * it has answered (success, failure or timeout), so the bytes live in Redis for at most one
 * request, and for less than the TTL unless the API process dies mid-request.
 */
export const API_QUEUE_NAME = 'api';

/** Grace after the request deadline before the parked bytes expire on their own. */
export const API_IMAGE_TTL_MARGIN_MS = 5_000;

/** How long a finished API job (its verdict, never the image) stays readable for the waiting request. */
export const API_KEEP_COMPLETED_SECONDS = 60;
export const API_KEEP_FAILED_SECONDS = 3_600;

export const apiJobSchema = z.object({
  v: z.literal(1).default(1),
  /** The request id: BullMQ job id, log correlation id, and part of the image key. */
  requestId: jobIdSchema,
  /** Redis key holding the image bytes (see apiImageKey). */
  imageKey: z.string().min(1),
  /** Epoch ms after which nobody waits for the answer: a worker that picks the job up later drops it. */
  deadline: z.number().int().positive(),
  /** Which API route asked (logs and metrics only). */
  route: z.enum(['bitmind', 'bijou']),
  backend: backendIdSchema.optional(),
});
export type ApiJob = z.infer<typeof apiJobSchema>;
export type ApiJobInput = z.input<typeof apiJobSchema>;

/** What an API job returns (BullMQ keeps it as the job's return value for API_KEEP_COMPLETED_SECONDS). */
export interface ApiJobResult {
  result: DetectionResult;
  backend: string;
  modelSetVersion: string;
  /** Set when no model ran for this request. */
  cache: 'exact' | 'perceptual' | 'inflight' | null;
}

export function apiImageKey(prefix: string, requestId: string): string {
  return `${prefix}:api:image:${requestId}`;
}

/** Per-key rate-limit window (a sliding log, see RedisRateLimiter). */
export function apiRateKey(prefix: string, keyId: string): string {
  return `${prefix}:api:rate:${keyId}`;
}

export function parseApiJob(data: unknown): ApiJob {
  const parsed = apiJobSchema.safeParse(data);
  if (!parsed.success) throw new GenguardError('bad_request', `invalid API job: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
