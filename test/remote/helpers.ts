import { createHash, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { ImageFormat, ImageInput } from '../../src/intake/image-input.js';
import type { Clock, RemoteLogger } from '../../src/detector/remote/remote-deps.js';
import type { RetryPolicy } from '../../src/detector/remote/retry.js';

export interface ImageSpec {
  width?: number;
  height?: number;
  /** Varies the pixels so each test image has its own hash (and fake score). */
  seed?: number;
  /** Random pixels: incompressible, for size-limit tests. */
  noise?: boolean;
  alpha?: boolean;
  /** JPEG/WebP quality. */
  quality?: number;
}

/** A small real image of `format`, as intake would hand it over. */
export async function makeImage(format: Exclude<ImageFormat, 'bmp'>, spec: ImageSpec = {}): Promise<ImageInput> {
  const width = spec.width ?? 64;
  const height = spec.height ?? 48;
  const channels = spec.alpha ? 4 : 3;
  const seed = spec.seed ?? 1;
  let pipeline = spec.noise
    ? sharp(randomBytes(width * height * channels), { raw: { width, height, channels } })
    : sharp({
        create: {
          width,
          height,
          channels,
          background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 13) % 256, alpha: 0.8 },
        },
      });
  const q = spec.quality ?? 90;
  switch (format) {
    case 'jpeg':
      pipeline = pipeline.jpeg({ quality: q });
      break;
    case 'png':
      pipeline = pipeline.png({ compressionLevel: spec.noise ? 0 : 6 });
      break;
    case 'webp':
      pipeline = pipeline.webp({ quality: q });
      break;
    case 'gif':
      pipeline = pipeline.gif();
      break;
    case 'avif':
      pipeline = pipeline.avif({ quality: 50, effort: 0 });
      break;
    case 'tiff':
      pipeline = pipeline.tiff();
      break;
  }
  const bytes = await pipeline.toBuffer();
  return {
    bytes,
    format,
    width,
    height,
    orientation: 1,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source: `test-${format}-${seed}`,
  };
}

/**
 * Time that moves only when someone sleeps: shared by a client and a fake, token expiry,
 * rate-limit windows and Retry-After waits happen instantly and deterministically.
 */
export class ManualClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.t += ms;
    return Promise.resolve();
  };
  random = (): number => 0.5;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Collects every log call as the JSON a log line would carry. */
export class CapturingLogger implements RemoteLogger {
  readonly lines: string[] = [];
  debug = (obj: Record<string, unknown>, msg: string): void => {
    this.lines.push(JSON.stringify({ level: 'debug', ...obj, msg }));
  };
  warn = (obj: Record<string, unknown>, msg: string): void => {
    this.lines.push(JSON.stringify({ level: 'warn', ...obj, msg }));
  };
}

/** Small but real retry settings for tests: no long waits, short per-exchange timeouts. */
export const TEST_RETRY: RetryPolicy = {
  retries: 2,
  baseDelayMs: 10,
  maxDelayMs: 50,
  attemptTimeoutMs: 2_000,
  deadlineMs: 60_000,
};

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown> & Error;
  }
  throw new Error('expected the call to fail, it succeeded');
}
