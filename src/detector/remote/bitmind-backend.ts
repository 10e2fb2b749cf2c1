import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { GenguardError } from '../../errors/genguard-error.js';
import type { ImageInput } from '../../intake/image-input.js';
import type { BackendDetectOptions, DetectionBackend } from '../backend.js';
import { classify, DEFAULT_BANDS, round, type Bands, type DetectionResult } from '../result.js';
import { BitmindAuth, type BitmindCredentials } from './bitmind-auth.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import { exchange, optionalRetryAfter, parseJson, retryAfterHeader, withTrailingSlash, type ExchangeResponse } from './http-exchange.js';
import { Redactor } from './redactor.js';
import { resolveClock, silentLogger, type Clock, type RemoteLogger } from './remote-deps.js';
import { DEFAULT_RETRY_POLICY, withRetries, type AttemptContext, type RetryPolicy } from './retry.js';

export const BITMIND_DEFAULT_BASE_URL = 'https://enterprise.bitmind.ai';
/** The vendor's documented upload limit; larger images are refused before upload. */
export const BITMIND_MAX_IMAGE_BYTES = 100 * 1024 * 1024;

export interface BitmindBackendOptions {
  credentials: BitmindCredentials;
  baseUrl?: string;
  bands?: Bands;
  retry?: Partial<RetryPolicy>;
  breaker?: Omit<CircuitBreakerOptions, 'name' | 'now'>;
  /** undici dispatcher; by default the backend owns an Agent and closes it in close(). */
  dispatcher?: Dispatcher;
  clock?: Partial<Clock>;
  logger?: RemoteLogger;
}

const imageResponseSchema = z.object({
  isAI: z.boolean().optional(),
  confidence: z.number().min(0).max(1),
  processingTime: z.number().nonnegative().optional(),
});

/**
 * BitMind enterprise `POST /image` as a DetectionBackend: one model result named `bitmind` with
 * score = the vendor's `confidence`, verdict from our configured bands (not the vendor's `isAI`,
 * which uses 0.5), latency measured here, the vendor's `processingTime` kept in `notes`.
 */
export class BitmindBackend implements DetectionBackend {
  readonly id = 'bitmind' as const;
  readonly auth: BitmindAuth;
  private readonly baseUrl: URL;
  private readonly bands: Bands;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly logger: RemoteLogger;
  private readonly redactor = new Redactor();
  private readonly breaker: CircuitBreaker;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(options: BitmindBackendOptions) {
    this.baseUrl = withTrailingSlash(options.baseUrl ?? BITMIND_DEFAULT_BASE_URL);
    this.bands = options.bands ?? DEFAULT_BANDS;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = resolveClock(options.clock);
    this.logger = options.logger ?? silentLogger;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.breaker = new CircuitBreaker({ ...options.breaker, name: 'bitmind', now: this.clock.now });
    this.auth = new BitmindAuth({
      credentials: options.credentials,
      baseUrl: this.baseUrl,
      dispatcher: this.dispatcher,
      clock: this.clock,
      redactor: this.redactor,
      logger: this.logger,
      timeoutMs: this.policy.attemptTimeoutMs,
    });
  }

  get circuit(): CircuitBreaker {
    return this.breaker;
  }

  async detect(image: ImageInput, options: BackendDetectOptions = {}): Promise<DetectionResult> {
    if (image.bytes.length === 0) throw new GenguardError('empty_input', 'bitmind: the image is empty');
    if (image.bytes.length > BITMIND_MAX_IMAGE_BYTES) {
      throw new GenguardError('too_large', `bitmind: ${image.bytes.length} bytes is above BitMind's 100 MB limit`);
    }
    const signal = options.signal;
    const started = performance.now();
    try {
      return await this.breaker.run(
        () =>
          withRetries((ctx) => this.attempt(image, ctx, started), {
            policy: this.policy,
            clock: this.clock,
            signal,
            label: 'bitmind',
            logger: this.logger,
          }),
        signal,
      );
    } catch (error) {
      if (error instanceof GenguardError) {
        this.logger.warn({ backend: 'bitmind', code: error.code, retryable: error.retryable }, error.message);
      }
      throw error;
    }
  }

  private async attempt(image: ImageInput, ctx: AttemptContext, started: number): Promise<DetectionResult> {
    let auth = await this.auth.headers();
    let res = await this.post(image, auth.headers, ctx);
    if (res.status === 401 && this.auth.canRefresh) {
      // Expired or revoked token: fetch a new one once, then give up with auth_failed.
      this.auth.invalidate(auth.token);
      auth = await this.auth.headers();
      res = await this.post(image, auth.headers, ctx);
    }
    if (res.status !== 200) throw this.statusError(res);
    const parsed = imageResponseSchema.safeParse(parseJson(res.body, 'bitmind'));
    if (!parsed.success) {
      throw new GenguardError('invalid_response', 'bitmind: response lacks a confidence in [0, 1]');
    }
    const score = parsed.data.confidence;
    const latency = Math.round(performance.now() - started);
    const notes: string[] = [];
    if (parsed.data.processingTime !== undefined) {
      notes.push(`bitmind: vendor processing time ${round(parsed.data.processingTime * 1000, 1)} ms`);
    }
    return {
      ...classify(score, this.bands),
      ensemble_score: score,
      models_succeeded: 1,
      models_total: 1,
      model_results: { bitmind: { score, latency_ms: latency } },
      detection_latency_ms: latency,
      backends: ['bitmind'],
      notes,
    };
  }

  private post(image: ImageInput, auth: Record<string, string>, ctx: AttemptContext): Promise<ExchangeResponse> {
    return exchange(this.dispatcher, {
      url: new URL('image', this.baseUrl),
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream', accept: 'application/json' },
      body: image.bytes,
      timeoutMs: ctx.exchangeTimeoutMs(),
      signal: ctx.signal,
      label: 'bitmind',
    });
  }

  private statusError(res: ExchangeResponse): GenguardError {
    const { status } = res;
    const what = this.redactor.excerpt(res.body);
    const details = { status, backend: 'bitmind' };
    switch (status) {
      case 400:
        return new GenguardError('bad_request', `bitmind rejected the image (400): ${what}`, { details });
      case 401:
        return new GenguardError('auth_failed', `bitmind: authentication failed (401): ${what}; ${this.credentialHint()}`, {
          details,
        });
      case 403:
        return new GenguardError(
          'permission_denied',
          `bitmind: permission denied (403): ${what}${this.auth.method === 'mtls' ? '' : ' (does this client require mTLS? set BITMIND_CLIENT_CERT_FILE)'}`,
          { details },
        );
      case 413:
        return new GenguardError('too_large', `bitmind: image too large (413): ${what}`, { details });
      case 429:
        return new GenguardError('rate_limited', `bitmind: rate limited (429)`, {
          details,
          ...optionalRetryAfter(retryAfterHeader(res.headers, this.clock.now())),
        });
      default:
        if (status >= 500) {
          return new GenguardError(status === 503 ? 'remote_unavailable' : 'remote_error', `bitmind: server error (${status}): ${what}`, {
            details,
            retryable: true,
            ...optionalRetryAfter(retryAfterHeader(res.headers, this.clock.now())),
          });
        }
        return new GenguardError('remote_error', `bitmind: unexpected status ${status}: ${what} (check BITMIND_BASE_URL)`, {
          details,
          retryable: false,
        });
    }
  }

  private credentialHint(): string {
    switch (this.auth.method) {
      case 'api_key':
        return 'check BITMIND_API_KEY (revoked?)';
      case 'mtls':
        return 'check BITMIND_CLIENT_ID and BITMIND_CLIENT_CERT_FILE';
      default:
        return 'check BITMIND_CLIENT_ID and BITMIND_CLIENT_SECRET';
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
