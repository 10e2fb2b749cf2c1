import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRgb } from '../../src/intake/decode-rgb.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { animation, bmp, expectCode, limits, noisyJpeg, orientedJpeg, solidImage, type BmpSpec } from './helpers.js';

const loader = new ImageLoader({ limits: limits() });
afterAll(() => loader.close());
const MAX = { maxPixels: 40_000_000 };

async function decode(bytes: Buffer, maxPixels = MAX.maxPixels) {
  return decodeRgb(await loader.fromBytes(bytes), { maxPixels });
}

function pixel(img: { data: Buffer; width: number }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [...img.data.subarray(o, o + 3)];
}

function expectNear(actual: number[], expected: number[], tolerance = 8): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance));
}

describe('decodeRgb', () => {
  it('gives 8-bit RGB, HWC, identical to a plain sharp decode for an sRGB PNG', async () => {
    const png = await sharp({
      create: { width: 9, height: 7, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 100, sigma: 50 } },
    })
      .png()
      .toBuffer();
    const img = await decode(png);
    expect(img.width).toBe(9);
    expect(img.height).toBe(7);
    expect(img.data.length).toBe(9 * 7 * 3);
    const reference = await sharp(png).removeAlpha().raw().toBuffer();
    expect(img.data.equals(reference)).toBe(true);
  });

  it.each(['jpeg', 'webp', 'avif', 'tiff', 'gif'] as const)('decodes %s', async (format) => {
    const img = await decode(await solidImage(format, 12, 10, '#ff0000'));
    expect([img.width, img.height]).toEqual([12, 10]);
    expectNear(pixel(img, 6, 5), [255, 0, 0], 12);
  });

  it.each(['gif', 'webp'] as const)('decodes only the first frame of an animated %s', async (format) => {
    const img = await decode(await animation(format, '#ff0000', '#0000ff'));
    expect([img.width, img.height]).toEqual([16, 12]);
    expectNear(pixel(img, 8, 6), [255, 0, 0]);
    expectNear(pixel(img, 15, 11), [255, 0, 0]);
  });

  it('applies EXIF orientation 6: the stored left half ends on top', async () => {
    const image = await loader.fromBytes(await orientedJpeg(6, 64, 32));
    const img = await decodeRgb(image, MAX);
    expect([img.width, img.height]).toEqual([image.width, image.height]);
    expect([img.width, img.height]).toEqual([32, 64]);
    expectNear(pixel(img, 16, 8), [255, 0, 0]);
    expectNear(pixel(img, 16, 56), [0, 0, 255]);
  });

  it('applies EXIF orientation 3: left and right swap', async () => {
    const img = await decode(await orientedJpeg(3, 64, 32));
    expect([img.width, img.height]).toEqual([64, 32]);
    expectNear(pixel(img, 8, 16), [0, 0, 255]);
    expectNear(pixel(img, 56, 16), [255, 0, 0]);
  });

  it('flattens alpha onto white', async () => {
    const rgba = Buffer.from([0, 0, 0, 0, 0, 0, 0, 128, 255, 0, 0, 255]);
    const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
    const img = await decode(png);
    expect(pixel(img, 0, 0)).toEqual([255, 255, 255]);
    expectNear(pixel(img, 1, 0), [127, 127, 127], 2);
    expect(pixel(img, 2, 0)).toEqual([255, 0, 0]);
  });

  it('turns grey, grey+alpha, 16-bit and CMYK into 3-channel 8-bit sRGB', async () => {
    const base = sharp({ create: { width: 4, height: 4, channels: 3, background: '#ff0000' } });
    const inputs = [
      await base.clone().greyscale().png().toBuffer(),
      await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 80, g: 80, b: 80, alpha: 1 } } })
        .greyscale()
        .png()
        .toBuffer(),
      await base.clone().toColourspace('rgb16').png().toBuffer(),
      await base.clone().toColourspace('cmyk').jpeg().toBuffer(),
    ];
    for (const bytes of inputs) {
      const img = await decode(bytes);
      expect(img.data.length).toBe(4 * 4 * 3);
    }
    expectNear(pixel(await decode(inputs[2]!), 1, 1), [255, 0, 0], 1);
    expectNear(pixel(await decode(inputs[3]!), 1, 1), [255, 0, 0], 40);
  });

  it('refuses a truncated JPEG with decode_failed, keeping the cause', async () => {
    const jpeg = await noisyJpeg();
    for (const fraction of [0.95, 0.5, 0.2]) {
      const image = await loader.fromBytes(jpeg.subarray(0, Math.floor(jpeg.length * fraction)));
      const error = await expectCode(decodeRgb(image, MAX), 'decode_failed');
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.retryable).toBe(false);
    }
  });

  it('refuses a truncated progressive JPEG and a truncated PNG', async () => {
    const progressive = await sharp(await noisyJpeg()).jpeg({ progressive: true }).toBuffer();
    await expectCode(decode(progressive.subarray(0, Math.floor(progressive.length * 0.6))), 'decode_failed');
    const png = await sharp(await noisyJpeg()).png().toBuffer();
    await expectCode(decode(png.subarray(0, Math.floor(png.length * 0.6))), 'decode_failed');
  });

  it('enforces its own pixel cap', async () => {
    await expectCode(decode(await solidImage('png', 20, 20), 399), 'too_many_pixels');
    const bigBmp = bmp({ width: 20, height: 20, bitsPerPixel: 24, rows: [] });
    await expectCode(decode(bigBmp, 399), 'too_many_pixels');
  });
});

describe('decodeRgb on BMP', () => {
  const RED = [255, 0, 0];
  const GREEN = [0, 255, 0];
  const BLUE = [0, 0, 255];
  const WHITE = [255, 255, 255];

  async function bmpPixels(spec: BmpSpec): Promise<number[]> {
    const img = await decode(bmp(spec));
    expect([img.width, img.height]).toEqual([spec.width, spec.height]);
    return [...img.data];
  }

  it.each([false, true])('24-bit (top-down: %s)', async (topDown) => {
    const rows = [
      [0, 0, 255, 0, 255, 0],
      [255, 0, 0, 255, 255, 255],
    ];
    expect(await bmpPixels({ width: 2, height: 2, bitsPerPixel: 24, rows, topDown })).toEqual([
      ...RED,
      ...GREEN,
      ...BLUE,
      ...WHITE,
    ]);
  });

  it('1, 4 and 8-bit palettes', async () => {
    const palette: Array<[number, number, number]> = [
      [0, 0, 0],
      [255, 255, 255],
      [10, 20, 30],
      [40, 50, 60],
    ];
    const one = await bmpPixels({ width: 10, height: 1, bitsPerPixel: 1, rows: [[0b10100000, 0b01000000]], palette: palette.slice(0, 2) });
    expect(one.filter((_, i) => i % 3 === 0)).toEqual([255, 0, 255, 0, 0, 0, 0, 0, 0, 255]);
    const four = await bmpPixels({ width: 3, height: 1, bitsPerPixel: 4, rows: [[0x12, 0x30]], palette });
    expect(four).toEqual([255, 255, 255, 10, 20, 30, 40, 50, 60]);
    const eight = await bmpPixels({ width: 3, height: 1, bitsPerPixel: 8, rows: [[3, 2, 0]], palette });
    expect(eight).toEqual([40, 50, 60, 10, 20, 30, 0, 0, 0]);
  });

  it('32-bit with an alpha mask is flattened onto white', async () => {
    const rows = [[0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 128]];
    const masks: [number, number, number, number] = [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000];
    const out = await bmpPixels({ width: 3, height: 1, bitsPerPixel: 32, rows, masks });
    expect(out.slice(0, 6)).toEqual([...RED, ...WHITE]);
    expectNear(out.slice(6), [127, 127, 127], 1);
  });

  it('plain 32-bit ignores the padding byte', async () => {
    const out = await bmpPixels({ width: 2, height: 1, bitsPerPixel: 32, rows: [[0, 255, 0, 0, 255, 0, 0, 0]] });
    expect(out).toEqual([...GREEN, ...BLUE]);
  });

  it('16-bit 5-6-5 bit fields and default 5-5-5', async () => {
    const masks: [number, number, number, number] = [0xf800, 0x07e0, 0x001f, 0];
    expect(await bmpPixels({ width: 2, height: 1, bitsPerPixel: 16, rows: [[0x00, 0xf8, 0xe0, 0x07]], masks })).toEqual([
      ...RED,
      ...GREEN,
    ]);
    expect(
      await bmpPixels({ width: 2, height: 1, bitsPerPixel: 16, rows: [[0x1f, 0x00, 0xe0, 0x07]], masks, masksAfterInfoHeader: true }),
    ).toEqual([...BLUE, ...GREEN]);
    expect(await bmpPixels({ width: 1, height: 1, bitsPerPixel: 16, rows: [[0x1f, 0x00]] })).toEqual(BLUE);
  });

  it('RLE8', async () => {
    const palette: Array<[number, number, number]> = [
      [255, 0, 0],
      [0, 0, 255],
    ];
    // Bottom row: run of 4 × index 0; end of line; top row: absolute 1,0,1,0; end of bitmap.
    const data = [4, 0, 0, 0, 0, 4, 1, 0, 1, 0, 0, 1];
    const out = await bmpPixels({ width: 4, height: 2, bitsPerPixel: 8, rows: [], palette, compression: 1, data });
    expect(out).toEqual([...BLUE, ...RED, ...BLUE, ...RED, ...RED, ...RED, ...RED, ...RED]);
  });

  it('refuses truncated pixel data with decode_failed', async () => {
    const whole = bmp({ width: 4, height: 4, bitsPerPixel: 24, rows: Array.from({ length: 4 }, () => Array(12).fill(9)) });
    await expectCode(decode(whole.subarray(0, whole.length - 20)), 'decode_failed');
    await expectCode(decode(whole.subarray(0, 30)), 'decode_failed');
  });
});
