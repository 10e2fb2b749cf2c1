import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { GenguardError } from '../../errors/genguard-error.js';
import type { ImageInput } from '../../intake/image-input.js';

/**
 * Bijou's documented limit is "10 MB". Whether that means 10^7 bytes or 10 MiB is not stated, so
 * the client aims under the smaller of the two.
 */
export const BIJOU_MAX_IMAGE_BYTES = 10_000_000;
const MAX_DOWNSCALES = 6;

export interface PreparedImage {
  bytes: Buffer;
  format: 'jpeg' | 'png' | 'webp';
  /** What was changed, for the result's `notes`; empty when the original bytes are sent. */
  notes: string[];
}

/**
 * Makes an image acceptable to Bijou: formats other than JPG/PNG/WebP become PNG (lossless, first
 * frame, orientation applied); anything over the size limit is re-encoded (JPEG, or WebP when it has
 * alpha) and, if that is not enough, downscaled step by step. Detectors are sensitive to both, so
 * every change is reported.
 */
export async function prepareForBijou(image: ImageInput, maxBytes = BIJOU_MAX_IMAGE_BYTES): Promise<PreparedImage> {
  const notes: string[] = [];
  let bytes = image.bytes;
  let format: PreparedImage['format'];
  if (image.format === 'jpeg' || image.format === 'png' || image.format === 'webp') {
    format = image.format;
  } else {
    bytes = await run(image, () => sharp(image.bytes).rotate().png().toBuffer());
    format = 'png';
    notes.push(`converted ${image.format.toUpperCase()} to PNG for Bijou (it accepts JPG, PNG and WebP only)`);
  }
  if (bytes.length <= maxBytes) return { bytes, format, notes };

  const originalSize = bytes.length;
  const source = bytes;
  const meta = await run(image, () => sharp(source).metadata());
  const alpha = meta.hasAlpha === true;
  const target: 'jpeg' | 'webp' = alpha ? 'webp' : 'jpeg';
  const encode = (pipeline: Sharp) => (alpha ? pipeline.webp({ quality: 90 }) : pipeline.jpeg({ quality: 92 }));
  let width = image.width;
  let height = image.height;
  let out = await run(image, () => encode(sharp(source).rotate()).toBuffer());
  for (let i = 0; out.length > maxBytes && i < MAX_DOWNSCALES; i++) {
    // File size grows roughly with pixel count: shrink the area by the overshoot, plus a margin.
    const scale = Math.min(0.9, Math.sqrt(maxBytes / out.length) * 0.95);
    width = Math.max(1, Math.floor(width * scale));
    height = Math.max(1, Math.floor(height * scale));
    const w = width;
    const h = height;
    out = await run(image, () => encode(sharp(source).rotate().resize(w, h, { fit: 'fill' })).toBuffer());
  }
  if (out.length > maxBytes) {
    throw new GenguardError('too_large', `bijou: could not bring ${image.source} under ${mb(maxBytes)}`);
  }
  const how = alpha ? 'WebP (quality 90)' : 'JPEG (quality 92)';
  const resized = width !== image.width || height !== image.height;
  notes.push(
    resized
      ? `downscaled from ${image.width}×${image.height} to ${width}×${height} and re-encoded as ${how} to fit Bijou's ${mb(maxBytes)} limit (${mb(originalSize)} → ${mb(out.length)})`
      : `re-encoded as ${how} to fit Bijou's ${mb(maxBytes)} limit (${mb(originalSize)} → ${mb(out.length)})`,
  );
  return { bytes: out, format: target, notes };
}

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

async function run<T>(image: ImageInput, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new GenguardError('decode_failed', `bijou: could not re-encode ${image.source}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
