import sharp, { type OutputInfo } from 'sharp';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import { decodeBmp, readBmpHeader } from './bmp-decoder.js';
import type { ImageInput } from './image-input.js';
import { checkPixels, messageOf } from './probe-image.js';

export interface RgbImage {
  /** 8-bit sRGB, 3 channels, interleaved, rows top to bottom (HWC). */
  data: Buffer;
  width: number;
  height: number;
}

export interface DecodeRgbOptions {
  maxPixels: number;
}

/**
 * The one full decode: first frame, EXIF orientation applied, alpha flattened onto white,
 * converted to sRGB (embedded ICC profiles honoured), 8-bit, 3 channels.
 *
 * `failOn: 'truncated'` refuses truncated JPEG/PNG data (libjpeg otherwise pads a cut file
 * with grey and returns it as if it were whole) while still tolerating the minor corruption
 * warnings many real camera files carry.
 */
export async function decodeRgb(image: ImageInput, options: DecodeRgbOptions): Promise<RgbImage> {
  if (image.format === 'bmp') {
    try {
      const header = readBmpHeader(image.bytes);
      checkPixels(header.width, header.height, options.maxPixels);
      return decodeBmp(image.bytes, header);
    } catch (cause) {
      throw toGenguardError(cause, 'decode_failed');
    }
  }

  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await sharp(image.bytes, {
      failOn: 'truncated',
      limitInputPixels: options.maxPixels,
      autoOrient: true,
      page: 0,
      pages: 1,
    })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const message = messageOf(cause);
    if (/exceeds pixel limit/i.test(message)) {
      throw new GenguardError('too_many_pixels', `image ${image.source} is larger than ${options.maxPixels} pixels`, {
        cause,
      });
    }
    throw new GenguardError('decode_failed', `cannot decode ${image.source}: ${message}`, { cause });
  }

  const { data, info } = result;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new GenguardError(
      'decode_failed',
      `cannot decode ${image.source}: got ${info.channels} channels for ${info.width}×${info.height}`,
    );
  }
  return { data, width: info.width, height: info.height };
}
