/**
 * The one error family of genguard. Every error that crosses a module boundary is a
 * GenguardError with a stable string `code` (a contract: the CLI's `--json` output, job
 * failure reasons and bot messages key on it), a human message and a `retryable` flag that
 * the queue uses to decide between backoff and failing at once.
 */
export const ERROR_CODES = {
  // intake
  unsupported_format: false,
  too_large: false,
  too_many_pixels: false,
  decode_failed: false,
  empty_input: false,
  not_found: false,
  fetch_failed: true,
  fetch_timeout: true,
  fetch_refused: false,
  http_error: false,
  redirect_limit: false,
  // detection
  no_model_succeeded: false,
  model_missing: false,
  model_invalid: false,
  model_input_mismatch: false,
  inference_failed: false,
  timeout: true,
  // remote backends
  auth_failed: false,
  permission_denied: false,
  out_of_credits: false,
  rate_limited: true,
  bad_request: false,
  remote_unavailable: true,
  remote_error: true,
  invalid_response: true,
  // configuration and usage
  config_invalid: false,
  usage: false,
  // platform / queue
  platform_error: true,
  queue_unavailable: true,
  internal: false,
} as const satisfies Record<string, boolean>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface GenguardErrorOptions {
  cause?: unknown;
  /** Overrides the code's default. */
  retryable?: boolean;
  /** Seconds the caller should wait before retrying (429 Retry-After and the like). */
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
}

export class GenguardError extends Error {
  override readonly name = 'GenguardError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: GenguardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isGenguardError(value: unknown): value is GenguardError {
  return value instanceof GenguardError;
}

/** Wraps anything thrown by code we do not own, at the boundary where it is caught. */
export function toGenguardError(error: unknown, fallback: ErrorCode = 'internal'): GenguardError {
  if (error instanceof GenguardError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GenguardError(fallback, message, { cause: error });
}
