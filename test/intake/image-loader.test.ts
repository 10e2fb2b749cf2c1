import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { animation, bmp, expectCode, ftyp, limits, noisyJpeg, orientedJpeg, pngDeclaring, solidImage } from './helpers.js';

const loader = new ImageLoader({ limits: limits() });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'genguard-intake-'));
});
afterAll(async () => {
  await loader.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ImageLoader accepts every supported format', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const)('%s', async (format) => {
    const bytes = await solidImage(format, 30, 20);
    const image = await loader.fromBytes(bytes);
    expect(image).toMatchObject({ format, width: 30, height: 20, orientation: 1, source: 'bytes' });
    expect(image.bytes).toBe(bytes);
    expect(image.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(image.pages).toBeUndefined();
  });

  it('BMP (hand-made)', async () => {
    const bytes = bmp({ width: 3, height: 2, bitsPerPixel: 24, rows: [Array(9).fill(0), Array(9).fill(255)] });
    expect(await loader.fromBytes(bytes)).toMatchObject({ format: 'bmp', width: 3, height: 2, orientation: 1 });
  });

  it.each(['gif', 'webp'] as const)('animated %s: first-frame size and frame count', async (format) => {
    const image = await loader.fromBytes(await animation(format));
    expect(image).toMatchObject({ format, width: 16, height: 12, pages: 2 });
  });

  it('takes a Uint8Array without copying it into something else', async () => {
    const png = await solidImage('png', 5, 4);
    const view = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
    const image = await loader.fromBytes(view);
    expect(image.format).toBe('png');
    expect(Buffer.isBuffer(image.bytes)).toBe(true);
    expect(image.bytes.equals(png)).toBe(true);
  });
});

describe('ImageLoader reads orientation from the header', () => {
  it('swaps width and height for orientation 6', async () => {
    const image = await loader.fromBytes(await orientedJpeg(6, 64, 32));
    expect(image).toMatchObject({ width: 32, height: 64, orientation: 6 });
  });

  it('keeps width and height for orientation 3', async () => {
    const image = await loader.fromBytes(await orientedJpeg(3, 64, 32));
    expect(image).toMatchObject({ width: 64, height: 32, orientation: 3 });
  });
});

describe('ImageLoader refuses', () => {
  it('zero bytes with empty_input', async () => {
    await expectCode(loader.fromBytes(Buffer.alloc(0)), 'empty_input');
  });

  it.each([
    ['text', Buffer.from('not an image at all\n'), /text/],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'), /SVG/],
    ['HTML', Buffer.from('<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>'), /HTML/],
    ['PDF', Buffer.from('%PDF-1.7\n1 0 obj\n'), /PDF/],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), /HEIC/],
  ])('%s with unsupported_format', async (_name, bytes, message) => {
    const error = await expectCode(loader.fromBytes(bytes), 'unsupported_format');
    expect(error.message).toMatch(message);
    expect(error.retryable).toBe(false);
  });

  it('an AVIF-branded file whose image is HEVC', async () => {
    // sharp's libheif cannot write HEVC, so relabel an AVIF's ftyp as HEIC: the sniff refuses it outright.
    const avif = await solidImage('avif', 8, 8);
    const heic = Buffer.from(avif);
    heic.write('heic', 8, 'latin1');
    heic.write('heic', 20, 'latin1');
    await expectCode(loader.fromBytes(heic), 'unsupported_format');
  });

  it('more bytes than the cap with too_large', async () => {
    const small = new ImageLoader({ limits: limits({ maxBytes: 100 }) });
    const bytes = await solidImage('png', 64, 64, '#123456');
    expect(bytes.length).toBeGreaterThan(100);
    const error = await expectCode(small.fromBytes(bytes), 'too_large');
    expect(error.details).toMatchObject({ maxBytes: 100 });
  });

  it('a PNG declaring 100000×100000 with too_many_pixels, from the header alone', async () => {
    const bomb = pngDeclaring(100_000, 100_000);
    expect(bomb.length).toBeLessThan(100);
    const error = await expectCode(loader.fromBytes(bomb), 'too_many_pixels');
    expect(error.details).toMatchObject({ width: 100_000, height: 100_000, maxPixels: 40_000_000 });
  });

  it('a GIF declaring 65535×65535 with too_many_pixels', async () => {
    const gif = await solidImage('gif', 2, 2);
    const bomb = Buffer.from(gif);
    // Logical screen and first image descriptor sizes.
    bomb.writeUInt16LE(65535, 6);
    bomb.writeUInt16LE(65535, 8);
    const descriptor = bomb.indexOf(0x2c, 13);
    bomb.writeUInt16LE(65535, descriptor + 5);
    bomb.writeUInt16LE(65535, descriptor + 7);
    await expectCode(loader.fromBytes(bomb), 'too_many_pixels');
  });

  it('an image over a configured pixel cap', async () => {
    const strict = new ImageLoader({ limits: limits({ maxPixels: 100 }) });
    await expectCode(strict.fromBytes(await solidImage('jpeg', 20, 20)), 'too_many_pixels');
    const bmpBomb = bmp({ width: 11, height: 10, bitsPerPixel: 24, rows: [] });
    await expectCode(strict.fromBytes(bmpBomb), 'too_many_pixels');
  });

  it('a corrupt header with decode_failed', async () => {
    const png = await solidImage('png', 8, 8);
    const broken = Buffer.concat([png.subarray(0, 8), Buffer.from('garbage garbage garbage garbage')]);
    await expectCode(loader.fromBytes(broken), 'decode_failed');
  });

  it('an unsupported BMP variant (embedded PNG)', async () => {
    const bytes = bmp({ width: 1, height: 1, bitsPerPixel: 24, rows: [[0, 0, 0]], compression: 5 });
    await expectCode(loader.fromBytes(bytes), 'unsupported_format');
  });

  it('but does not decode: a truncated JPEG passes load (decodeRgb refuses it)', async () => {
    const jpeg = await noisyJpeg();
    const image = await loader.fromBytes(jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    expect(image).toMatchObject({ format: 'jpeg', width: 128, height: 96 });
  });
});

describe('ImageLoader files', () => {
  it('sniffs the content, not the name: a PNG named .jpg is a PNG', async () => {
    const file = path.join(dir, 'photo.jpg');
    await writeFile(file, await solidImage('png', 7, 5));
    expect(await loader.fromFile(file)).toMatchObject({ format: 'png', width: 7, height: 5, source: file });
  });

  it('refuses a text file named .jpg', async () => {
    const file = path.join(dir, 'fake.jpg');
    await writeFile(file, 'this is a text file\n');
    await expectCode(loader.fromFile(file), 'unsupported_format');
  });

  it('refuses an empty file', async () => {
    const file = path.join(dir, 'empty.png');
    await writeFile(file, '');
    await expectCode(loader.fromFile(file), 'empty_input');
  });

  it('refuses a missing file with not_found', async () => {
    const error = await expectCode(loader.fromFile(path.join(dir, 'nope.png')), 'not_found');
    expect(error.retryable).toBe(false);
    await expectCode(loader.fromFile(path.join(dir, 'fake.jpg', 'below-a-file.png')), 'not_found');
  });

  it('refuses a directory', async () => {
    const sub = path.join(dir, 'folder.png');
    await mkdir(sub);
    await expectCode(loader.fromFile(sub), 'unsupported_format');
  });

  it('refuses a file over the cap without reading it', async () => {
    const file = path.join(dir, 'big.png');
    await writeFile(file, await solidImage('png', 64, 64, '#abcdef'));
    const small = new ImageLoader({ limits: limits({ maxBytes: 50 }) });
    await expectCode(small.fromFile(file), 'too_large');
  });
});

describe('ImageLoader.load', () => {
  it('routes paths, file URLs, Buffers and Uint8Arrays', async () => {
    const png = await solidImage('png', 3, 3);
    const file = path.join(dir, 'route.png');
    await writeFile(file, png);
    expect((await loader.load(file)).source).toBe(file);
    expect((await loader.load(pathToFileURL(file).href)).source).toBe(file);
    expect((await loader.load(png)).source).toBe('bytes');
    expect((await loader.load(new Uint8Array(png))).format).toBe('png');
  });

  it('labels the result with `name` when given', async () => {
    const png = await solidImage('png', 3, 3);
    expect((await loader.load(png, { name: 'upload.png' })).source).toBe('upload.png');
    const file = path.join(dir, 'named.png');
    await writeFile(file, png);
    expect((await loader.load(file, { name: 'attachment' })).source).toBe('attachment');
  });

  it('refuses other URL schemes', async () => {
    await expectCode(loader.load('ftp://example.com/a.png'), 'fetch_refused');
  });

  it('honours an already-aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await expectCode(loader.load(await solidImage('png', 2, 2), { signal: controller.signal }), 'timeout');
    expect(error.retryable).toBe(true);
  });
});
