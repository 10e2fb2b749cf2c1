import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { BackendId } from '../detector/backend.js';
import { GenguardError, isGenguardError } from '../errors/genguard-error.js';
import type { ImageInput } from '../intake/image-input.js';
import type { ApiJobResult } from '../queue/api-job.js';
import type { SubmitOptions } from '../queue/api-submitter.js';
import { bijouRequestSchema } from './api-schemas.js';
import { readBody } from './http-body.js';
import { apiErrorOf, bijouSuccess, bitmindResult, type ApiError, type Shape } from './vendor-shapes.js';

export interface DetectRoutesOptions {
  /** The `api` lane's producer (ApiSubmitter). */
  detector: { submit(bytes: Buffer, options: SubmitOptions): Promise<ApiJobResult> };
  /** Checks the bytes before they are queued (intake's ImageLoader): bad input is answered at once. */
  validator: { fromBytes(bytes: Buffer, source?: string): Promise<ImageInput> };
  /** GENGUARD_MAX_BYTES: the largest image, decoded. */
  maxBytes: number;
  /** Backend for API requests; default: the deployment's GENGUARD_BACKEND (decided by the worker). */
  backend?: BackendId;
}

export type RouteAnswer = { body: unknown; cache: string } | { error: ApiError };

/** Base64 inflates by 4/3; leave room for a data: prefix, line breaks and the JSON around it. */
const JSON_OVERHEAD = 64 * 1024;

/**
 * The two detection routes: read and check the body in the vendor's format, queue the bytes, and
 * shape the answer. Errors come back as values, in the route's status vocabulary.
 */
export class DetectRoutes {
  readonly #o: DetectRoutesOptions;

  constructor(options: DetectRoutesOptions) {
    this.#o = options;
  }

  async run(req: IncomingMessage, shape: Shape, ctx: { requestId: string; log: Logger; signal: AbortSignal }): Promise<RouteAnswer> {
    let bytes: Buffer;
    try {
      bytes = shape === 'bitmind' ? await readBody(req, this.#o.maxBytes) : await this.#bijouImage(req);
      await this.#o.validator.fromBytes(bytes, 'the image');
    } catch (error) {
      if (!isGenguardError(error)) throw error;
      const apiError = apiErrorOf(error);
      // Bijou names the field at fault; anything about the bytes is `image`.
      const field = error.details && 'field' in error.details ? error.details['field'] : 'image';
      return { error: shape === 'bijou' && typeof field === 'string' && apiError.status < 500 ? { ...apiError, field } : apiError };
    }
    try {
      const outcome = await this.#o.detector.submit(bytes, {
        requestId: ctx.requestId,
        route: shape,
        signal: ctx.signal,
        ...(this.#o.backend ? { backend: this.#o.backend } : {}),
      });
      const body = shape === 'bitmind' ? bitmindResult(outcome.result) : bijouSuccess(outcome.result);
      return { body, cache: outcome.cache ?? 'miss' };
    } catch (error) {
      if (!isGenguardError(error)) throw error;
      // Server-side failures lose their detail in the answer; the log keeps it under the request id.
      ctx.log.warn({ code: error.code, reason: error.message }, 'detection failed');
      return { error: apiErrorOf(error) };
    }
  }

  async #bijouImage(req: IncomingMessage): Promise<Buffer> {
    const raw = await readBody(req, Math.ceil(this.#o.maxBytes / 3) * 4 + JSON_OVERHEAD);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new GenguardError('bad_request', 'Invalid JSON body', { details: { field: null } });
    }
    const parsed = bijouRequestSchema.safeParse(json);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      if (field === 'consent') throw new GenguardError('bad_request', 'consent must be a boolean', { details: { field } });
      throw new GenguardError('bad_request', 'image is required (a base64 string)');
    }
    const bytes = decodeBase64(parsed.data.image);
    if (!bytes) throw new GenguardError('bad_request', 'Invalid base64 image');
    if (bytes.length > this.#o.maxBytes) {
      throw new GenguardError('too_large', `the image is ${bytes.length} bytes, above the ${this.#o.maxBytes}-byte limit`);
    }
    return bytes;
  }
}

/** Strict base64 (standard or URL-safe alphabet, optional data: URL prefix); undefined when it is not. */
export function decodeBase64(text: string): Buffer | undefined {
  let b64 = text.trim();
  const prefix = /^data:[^;,]{0,100};base64,/i.exec(b64);
  if (prefix) b64 = b64.slice(prefix[0].length);
  b64 = b64.replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}
