import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, type Dispatcher } from 'undici';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import type { IntakeLimits } from '../config/load-config.js';
import { downloadImage, type DownloadOptions } from './download-image.js';
import { guardedLookup, type LookupFunction } from './guarded-lookup.js';
import type { ImageInput } from './image-input.js';
import { probeImage } from './probe-image.js';
import { describeContent, sniffFormat } from './sniff-format.js';
import { AddressPolicy } from './url-guard.js';

export interface ImageLoaderOptions {
  limits: IntakeLimits;
  /**
   * HTTP client for URLs. By default an undici Agent whose connections only reach addresses the
   * policy allows. A dispatcher passed here is used as is: the IP-literal and per-redirect checks
   * still apply, but host names are resolved by it, unchecked (tests only).
   */
  dispatcher?: Dispatcher;
  /** DNS resolution for the default Agent (tests pass a fake resolver); every answer is still checked. */
  dnsLookup?: LookupFunction;
}

export interface LoadOptions {
  signal?: AbortSignal;
  /** Request headers for URLs (e.g. Slack's `Authorization: Bearer …`). */
  headers?: Record<string, string>;
  /** Label used as `source` in the result and in messages instead of the path/URL. */
  name?: string;
}

/**
 * The one way into genguard for an image: bytes, a file or a URL become a validated ImageInput
 * (format sniffed from magic bytes, byte and pixel caps, header read) without decoding pixels.
 * Decoding happens later, once, in decodeRgb.
 */
export class ImageLoader {
  readonly limits: IntakeLimits;
  private readonly policy: AddressPolicy;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(options: ImageLoaderOptions) {
    this.limits = options.limits;
    this.policy = new AddressPolicy(options.limits.allowHosts);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: {
          lookup: guardedLookup(this.policy, options.dnsLookup),
          timeout: options.limits.fetchTimeoutMs,
        },
        headersTimeout: options.limits.fetchTimeoutMs,
        bodyTimeout: options.limits.fetchTimeoutMs,
      });
  }

  /** A string starting with http:// or https:// is a URL (file:// a file URL), anything else a path. */
  async load(source: string | Buffer | Uint8Array, options: LoadOptions = {}): Promise<ImageInput> {
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    if (typeof source !== 'string') return this.fromBytes(source, options.name);
    let image: ImageInput;
    if (/^https?:\/\//i.test(source)) {
      const download: DownloadOptions = {};
      if (options.headers) download.headers = options.headers;
      if (options.signal) download.signal = options.signal;
      image = await this.fromUrl(source, download);
    } else if (/^file:\/\//i.test(source)) {
      image = await this.fromFile(fileURLToPath(source));
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
      throw new GenguardError('fetch_refused', `unsupported URL scheme in ${source}: only http(s) and files`);
    } else {
      image = await this.fromFile(source);
    }
    return options.name === undefined ? image : { ...image, source: options.name };
  }

  async fromBytes(bytes: Buffer | Uint8Array, source = 'bytes'): Promise<ImageInput> {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Zero bytes get their own code: "nothing arrived" points at a different fault than "wrong format".
    if (buffer.length === 0) throw new GenguardError('empty_input', `${source} is empty (0 bytes)`);
    if (buffer.length > this.limits.maxBytes) {
      throw new GenguardError(
        'too_large',
        `${source} is ${buffer.length} bytes, above the ${this.limits.maxBytes}-byte limit`,
        { details: { bytes: buffer.length, maxBytes: this.limits.maxBytes } },
      );
    }
    const format = sniffFormat(buffer);
    if (format === undefined) {
      throw new GenguardError(
        'unsupported_format',
        `${source} is not a supported image (JPEG, PNG, WebP, GIF, AVIF, BMP, TIFF): it looks like ${describeContent(buffer)}`,
      );
    }
    const probe = await probeImage(buffer, format, this.limits.maxPixels);
    const image: ImageInput = {
      bytes: buffer,
      format,
      width: probe.width,
      height: probe.height,
      orientation: probe.orientation,
      sha256: createHash('sha256').update(buffer).digest('hex'),
      source,
    };
    if (probe.pages > 1) image.pages = probe.pages;
    return image;
  }

  async fromFile(filePath: string): Promise<ImageInput> {
    return this.fromBytes(await this.readFileCapped(filePath), filePath);
  }

  async fromUrl(url: string, options: DownloadOptions = {}): Promise<ImageInput> {
    const { bytes } = await downloadImage(
      url,
      { dispatcher: this.dispatcher, policy: this.policy, limits: this.limits },
      options,
    );
    return this.fromBytes(bytes, url);
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async readFileCapped(filePath: string): Promise<Buffer> {
    const maxBytes = this.limits.maxBytes;
    try {
      // stat before open: opening a FIFO or device for reading could block forever.
      const info = await stat(filePath);
      if (!info.isFile()) throw new GenguardError('unsupported_format', `${filePath} is not a regular file`);
      if (info.size > maxBytes) {
        throw new GenguardError('too_large', `${filePath} is ${info.size} bytes, above the ${maxBytes}-byte limit`, {
          details: { bytes: info.size, maxBytes },
        });
      }
      const handle = await open(filePath, 'r');
      try {
        // Read at most one byte past the cap: the file may have grown since stat.
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const room = maxBytes + 1 - total;
          const chunk = Buffer.allocUnsafe(Math.min(Math.max(info.size - total, 64 * 1024), room));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
          if (bytesRead === 0) break;
          total += bytesRead;
          chunks.push(chunk.subarray(0, bytesRead));
          if (total > maxBytes) {
            throw new GenguardError('too_large', `${filePath} is over the ${maxBytes}-byte limit`, {
              details: { maxBytes },
            });
          }
        }
        return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw fileError(error, filePath);
    }
  }
}

/** A caller's abort before any work starts (a job deadline, a shutdown): retryable, nothing was wrong with the input. */
function abortedError(reason: unknown): GenguardError {
  if (reason instanceof GenguardError) return reason;
  return new GenguardError('timeout', 'loading the image was aborted before it started', { cause: reason, retryable: true });
}

function fileError(error: unknown, filePath: string): GenguardError {
  if (error instanceof GenguardError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new GenguardError('not_found', `no such file: ${filePath}`, { cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new GenguardError('permission_denied', `cannot read ${filePath}: permission denied`, { cause: error });
  }
  return toGenguardError(error);
}
