import type { DetectionResult } from '../detector/result.js';
import type { ErrorCode, GenguardError } from '../errors/genguard-error.js';
import type { BijouError, BijouSuccess, BitmindError, BitmindResult, DetectionData } from './api-schemas.js';

/** Which vendor's contract a route speaks. */
export type Shape = 'bitmind' | 'bijou';

/** An error as the API reports it, before it takes a vendor's shape. */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  field?: string;
  retryAfterSeconds?: number;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  empty_input: 400,
  unsupported_format: 400,
  decode_failed: 400,
  bad_request: 400,
  auth_failed: 401,
  permission_denied: 403,
  not_found: 404,
  too_large: 413,
  too_many_pixels: 413,
  rate_limited: 429,
  remote_unavailable: 502,
  remote_error: 502,
  invalid_response: 502,
  out_of_credits: 502,
  queue_unavailable: 503,
  timeout: 504,
};

/**
 * Maps a GenguardError to the API's status. Client errors (4xx) keep their message, which talks
 * about the client's input; server errors get a fixed text, since their messages can name hosts,
 * files and models the client has no business seeing (the log has the full error under the id).
 */
export function apiErrorOf(error: GenguardError): ApiError {
  const status = STATUS_BY_CODE[error.code] ?? 500;
  const message =
    status < 500
      ? error.message
      : status === 504
        ? 'detection did not finish in time; try again later'
        : status === 503
          ? 'service temporarily unavailable; try again shortly'
          : status === 502
            ? 'the detection backend failed; try again later'
            : 'detection failed';
  return {
    status,
    code: error.code,
    message,
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  };
}

export function bitmindResult(result: DetectionResult): BitmindResult {
  return {
    isAI: result.ensemble_score >= 0.5,
    confidence: result.ensemble_score,
    processingTime: result.detection_latency_ms / 1000,
  };
}

/** Bijou's `data`, field by field (not a spread), so new internal fields never leak into the contract unannounced. */
export function detectionData(result: DetectionResult): DetectionData {
  return {
    prediction: result.prediction,
    confidence: result.confidence,
    ensemble_score: result.ensemble_score,
    verdict: result.verdict,
    models_succeeded: result.models_succeeded,
    models_total: result.models_total,
    model_results: result.model_results,
    detection_latency_ms: result.detection_latency_ms,
    stored: false,
    s3_key: null,
    research_image_key: null,
    research_result_key: null,
    ...(result.model_notes ? { model_notes: result.model_notes } : {}),
    ...(result.evidence ? { evidence: result.evidence } : {}),
    ...(result.backends ? { backends: result.backends } : {}),
    ...(result.notes ? { notes: result.notes } : {}),
  };
}

export function bijouSuccess(result: DetectionResult): BijouSuccess {
  return { statusCode: 200, body: { data: detectionData(result) } };
}

export function errorBody(shape: Shape, error: ApiError, requestId: string): BitmindError | BijouError {
  if (shape === 'bitmind') return { error: error.message, code: error.code, request_id: requestId };
  return {
    statusCode: error.status,
    body: {
      error: error.message,
      code: error.code.toUpperCase(),
      ...(error.field ? { field: error.field } : {}),
      ...(error.retryAfterSeconds === undefined ? {} : { retry_after: error.retryAfterSeconds }),
      request_id: requestId,
    },
  };
}
