import sharp, { type Metadata } from 'sharp';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import { readBmpHeader, type BmpHeader } from './bmp-decoder.js';
import type { ImageFormat } from './image-input.js';

export interface ImageProbe {
  /** Displayed size (EXIF orientation applied), first frame. */
  width: number;
  height: number;
  orientation: number;
  pages: number;
}

/** The decoder sharp reports for each format we accept (AVIF goes through libheif). */
const SHARP_FORMAT: Record<Exclude<ImageFormat, 'bmp'>, string> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'heif',
  tiff: 'tiff',
};

/**
 * Reads the header only (sharp metadata() does not decode pixels), so a file declaring
 * 100000×100000 is refused before anything that size is allocated.
 */
export async function probeImage(bytes: Buffer, format: ImageFormat, maxPixels: number): Promise<ImageProbe> {
  if (format === 'bmp') {
    let header: BmpHeader;
    try {
      header = readBmpHeader(bytes);
    } catch (cause) {
      throw toGenguardError(cause, 'decode_failed');
    }
    checkPixels(header.width, header.height, maxPixels);
    return { width: header.width, height: header.height, orientation: 1, pages: 1 };
  }

  let meta: Metadata;
  try {
    // Our own pixel check below gives the better error; sharp's limit would only say "exceeds".
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new GenguardError('decode_failed', `cannot read the ${format.toUpperCase()} header: ${messageOf(cause)}`, {
      cause,
    });
  }
  if (meta.format !== SHARP_FORMAT[format]) {
    throw new GenguardError('decode_failed', `the ${format.toUpperCase()} signature does not match the data (${meta.format})`);
  }
  if (format === 'avif' && meta.compression !== 'av1') {
    throw new GenguardError(
      'unsupported_format',
      `unsupported image format: HEIF with ${meta.compression ?? 'unknown'} compression (only AVIF is accepted)`,
    );
  }
  const { width, height } = meta;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new GenguardError('decode_failed', `the image declares an invalid size ${width}×${height}`);
  }
  checkPixels(width, height, maxPixels);
  const orientation = meta.orientation !== undefined && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const swap = orientation >= 5;
  return {
    width: swap ? height : width,
    height: swap ? width : height,
    orientation,
    pages: meta.pages ?? 1,
  };
}

export function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    throw new GenguardError(
      'too_many_pixels',
      `image is ${width}×${height} (${formatMegapixels(width * height)}), above the ${formatMegapixels(maxPixels)} limit`,
      { details: { width, height, maxPixels } },
    );
  }
}

function formatMegapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(pixels < 1e5 ? 3 : 1)} MP`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
