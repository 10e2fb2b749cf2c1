import { z } from 'zod';

/**
 * The wire shapes of the self-hosted API, as zod schemas. They are the single source of the
 * OpenAPI document (openapi-document.ts) and the builders in vendor-shapes.ts are typed by them,
 * so the document cannot drift from what the server sends; test/server checks real responses
 * against the served document.
 */

/** The named schemas of the document's `components.schemas` (a registry of our own, not zod's global one). */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

const probability = z.number().min(0).max(1);

// --- BitMind-compatible: POST /image (../shared/specs/bitmind-image.md) ---

export const bitmindResultSchema = z
  .object({
    isAI: z.boolean().describe('true when confidence >= 0.5, as BitMind defines it'),
    confidence: probability.describe('probability that the image is AI-generated (the ensemble score)'),
    processingTime: z.number().min(0).describe('model processing time in seconds'),
  })
  .register(apiSchemas, { id: 'BitmindResult' });

export const bitmindErrorSchema = z
  .object({
    error: z.string().describe('what went wrong'),
    code: z.string().describe('genguard error code, e.g. too_large, rate_limited'),
    request_id: z.string().describe('X-Request-Id of the request, for the logs'),
  })
  .register(apiSchemas, { id: 'BitmindError' });

// --- Bijou-compatible: POST /api/detect (../shared/specs/bijou-detect.md) ---

export const bijouRequestSchema = z
  .object({
    image: z.string().min(1).describe('base64-encoded image (a data: URL prefix is accepted)'),
    consent: z.boolean().optional().describe('accepted for compatibility and ignored: genguard never stores images'),
  })
  .register(apiSchemas, { id: 'BijouRequest' });

const modelResultSchema = z.object({ score: probability, latency_ms: z.number().min(0) });
const memberNoteSchema = z.object({ status: z.enum(['abstained', 'failed']), code: z.string(), reason: z.string() });

export const detectionDataSchema = z
  .object({
    prediction: z.enum(['ai', 'real', 'uncertain']),
    confidence: probability,
    ensemble_score: probability,
    verdict: z.enum(['ai_generated', 'likely_real', 'uncertain']),
    models_succeeded: z.number().int().min(0),
    models_total: z.number().int().min(0),
    model_results: z.record(z.string(), modelResultSchema),
    detection_latency_ms: z.number().min(0),
    stored: z.literal(false).describe('genguard never stores images'),
    s3_key: z.null(),
    research_image_key: z.null(),
    research_result_key: z.null(),
    model_notes: z.record(z.string(), memberNoteSchema).optional().describe('genguard: members that abstained or failed, and why'),
    evidence: z.array(z.string()).optional().describe('genguard: human-readable evidence such as provenance markers'),
    backends: z.array(z.string()).optional().describe('genguard: backends that answered'),
    notes: z.array(z.string()).optional().describe('genguard: remarks about the run'),
  })
  .register(apiSchemas, { id: 'DetectionData' });

export const bijouSuccessSchema = z
  .object({ statusCode: z.literal(200), body: z.object({ data: detectionDataSchema }) })
  .register(apiSchemas, { id: 'BijouSuccess' });

export const bijouErrorSchema = z
  .object({
    statusCode: z.number().int().min(400).max(599).describe('the HTTP status, repeated'),
    body: z.object({
      error: z.string(),
      code: z.string().describe('genguard error code in capitals, e.g. RATE_LIMITED'),
      field: z.string().optional().describe('the request field at fault'),
      retry_after: z.number().int().min(0).optional().describe('seconds to wait (429, 503)'),
      request_id: z.string(),
    }),
  })
  .register(apiSchemas, { id: 'BijouError' });

// --- operations ---

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    redis: z.enum(['ok', 'down']),
    workers: z.number().int().min(0).optional().describe('workers serving the API queue right now (0: requests will time out)'),
  })
  .register(apiSchemas, { id: 'Health' });

export type BitmindResult = z.infer<typeof bitmindResultSchema>;
export type BitmindError = z.infer<typeof bitmindErrorSchema>;
export type DetectionData = z.infer<typeof detectionDataSchema>;
export type BijouSuccess = z.infer<typeof bijouSuccessSchema>;
export type BijouError = z.infer<typeof bijouErrorSchema>;
export type Health = z.infer<typeof healthSchema>;

/** Every error status the detection routes may answer; the OpenAPI document lists them all. */
export const ERROR_STATUSES = [400, 401, 403, 404, 405, 413, 429, 500, 502, 503, 504] as const;
