import sharp, { type Sharp } from 'sharp';
import { Prng } from './prng.js';
import { bmp } from '../intake/helpers.js';
import { exifSegment, exifTiff, iTXt, jpegSegment, tEXt, xmpPacket } from '../provenance/craft.js';

/** A valid file the mutators start from. */
export interface SeedImage {
  name: string;
  bytes: Buffer;
}

/** Seeded noise with some structure (sharp's own noise is not seeded, and the corpus must reproduce). */
function noise(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  const random = new Prng(width * 7919 + height * 31 + channels);
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    const x = Math.floor(i / channels) % width;
    data[i] = (x * 5 + random.int(96)) & 0xff;
  }
  return sharp(data, { raw: { width, height, channels } });
}

/** Inserts `segments` right after a JPEG's SOI. */
export function withJpegSegments(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

/** Inserts `chunks` right after a PNG's IHDR. */
export function withPngChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

/**
 * Valid JPEG, PNG, WebP, GIF and AVIF files made with sharp (plus a few with metadata, so the
 * provenance reader's parsers get exercised), all small: the fuzzer's mutations, not the pixel
 * count, are what should cost.
 */
export async function makeSeedImages(): Promise<SeedImage[]> {
  const base = noise(64, 48);
  const alpha = noise(40, 30, 4);
  const jpeg = await base.clone().jpeg({ quality: 80 }).toBuffer();
  const png = await base.clone().png().toBuffer();
  const frame = (colour: string) => sharp({ create: { width: 24, height: 16, channels: 3, background: colour } }).png().toBuffer();
  const frames = await Promise.all(['#ff0000', '#00ff00', '#0000ff'].map(frame));
  const seeds: SeedImage[] = [
    { name: 'jpeg-baseline', bytes: jpeg },
    { name: 'jpeg-progressive-exif', bytes: await base.clone().jpeg({ quality: 70, progressive: true }).withMetadata({ orientation: 6 }).toBuffer() },
    {
      name: 'jpeg-exif-xmp',
      bytes: withJpegSegments(
        jpeg,
        exifSegment(exifTiff({ 0x010f: 'Canon', 0x0110: 'EOS', 0x0131: 'Stable Diffusion' })),
        jpegSegment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xmpPacket('<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'))])),
      ),
    },
    { name: 'png-rgb', bytes: png },
    { name: 'png-rgba', bytes: await alpha.clone().png().toBuffer() },
    { name: 'png-palette', bytes: await base.clone().png({ palette: true, colours: 16 }).toBuffer() },
    { name: 'png-text', bytes: withPngChunks(png, tEXt('parameters', 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Model: sd15'), iTXt('prompt', '{"3":{"class_type":"KSampler","inputs":{}}}', true)) },
    { name: 'webp-lossy', bytes: await base.clone().webp({ quality: 70 }).toBuffer() },
    { name: 'webp-lossless-alpha', bytes: await alpha.clone().webp({ lossless: true }).toBuffer() },
    { name: 'webp-animated', bytes: await sharp(frames, { join: { animated: true } }).webp({ delay: [50, 50, 50] }).toBuffer() },
    { name: 'gif', bytes: await base.clone().gif().toBuffer() },
    { name: 'gif-animated', bytes: await sharp(frames, { join: { animated: true } }).gif({ delay: [50, 50, 50] }).toBuffer() },
    { name: 'avif', bytes: await base.clone().avif({ quality: 50, effort: 0 }).toBuffer() },
    { name: 'avif-alpha', bytes: await alpha.clone().avif({ quality: 50, effort: 0 }).toBuffer() },
    { name: 'tiff', bytes: await base.clone().tiff().toBuffer() },
    // BMP goes through genguard's own decoder (sharp has no BMP loader): the likeliest place for a JavaScript bug.
    ...bmpSeeds(),
  ];
  return seeds;
}

function bmpSeeds(): SeedImage[] {
  const rows = (width: number, height: number, bytesPerRow: number) =>
    Array.from({ length: height }, (_, y) => Array.from({ length: bytesPerRow }, (_, i) => (i * 29 + y * 13 + width) & 0xff));
  const palette = (n: number): Array<[number, number, number]> => Array.from({ length: n }, (_, i) => [(i * 37) & 0xff, (i * 91) & 0xff, (i * 13) & 0xff]);
  return [
    { name: 'bmp-24', bytes: bmp({ width: 20, height: 12, bitsPerPixel: 24, rows: rows(20, 12, 60) }) },
    { name: 'bmp-32-masks', bytes: bmp({ width: 16, height: 8, bitsPerPixel: 32, rows: rows(16, 8, 64), masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000] }) },
    { name: 'bmp-16-top-down', bytes: bmp({ width: 18, height: 10, bitsPerPixel: 16, rows: rows(18, 10, 36), topDown: true }) },
    { name: 'bmp-8-palette', bytes: bmp({ width: 24, height: 9, bitsPerPixel: 8, rows: rows(24, 9, 24), palette: palette(256) }) },
    { name: 'bmp-4-palette', bytes: bmp({ width: 22, height: 7, bitsPerPixel: 4, rows: rows(22, 7, 11), palette: palette(16) }) },
    { name: 'bmp-1-palette', bytes: bmp({ width: 33, height: 5, bitsPerPixel: 1, rows: rows(33, 5, 5), palette: palette(2) }) },
    // RLE8: runs, an absolute run, end of line, a delta, end of bitmap.
    { name: 'bmp-rle8', bytes: bmp({ width: 16, height: 4, bitsPerPixel: 8, rows: [], palette: palette(8), compression: 1, data: [4, 1, 0, 3, 2, 3, 4, 0, 0, 0, 0, 2, 3, 1, 8, 5, 0, 0, 6, 7, 0, 1] }) },
    { name: 'bmp-rle4', bytes: bmp({ width: 12, height: 3, bitsPerPixel: 4, rows: [], palette: palette(16), compression: 2, data: [6, 0x12, 0, 4, 0x34, 0x56, 0, 0, 4, 0x78, 0, 1] }) },
  ];
}
