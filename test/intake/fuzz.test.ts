import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { decodeRgb } from '../../src/intake/decode-rgb.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { bmp, limits } from './helpers.js';

/** Small, seeded PRNG so a failure reproduces. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(original: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const bytes = Buffer.from(original);
  switch (pick(4)) {
    case 0: {
      // Flip a few bytes, biased towards the header where parsers branch most.
      const count = 1 + pick(8);
      for (let i = 0; i < count; i++) {
        const at = random() < 0.5 ? pick(Math.min(64, bytes.length)) : pick(bytes.length);
        bytes[at] = pick(256);
      }
      return bytes;
    }
    case 1:
      return bytes.subarray(0, pick(bytes.length));
    case 2: {
      const at = pick(bytes.length);
      const junk = Buffer.from(Array.from({ length: 1 + pick(32) }, () => pick(256)));
      return Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
    }
    default: {
      // Overwrite a 16-bit field with an extreme value (sizes, lengths, offsets).
      const at = pick(Math.max(1, Math.min(128, bytes.length - 2)));
      bytes.writeUInt16BE([0, 1, 0x7fff, 0xffff][pick(4)]!, at);
      return bytes;
    }
  }
}

const loader = new ImageLoader({ limits: limits({ maxPixels: 1_000_000 }) });
afterAll(() => loader.close());

async function seeds(): Promise<Array<[string, Buffer]>> {
  const base = sharp({
    create: { width: 48, height: 32, channels: 4, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  });
  return [
    ['jpeg', await base.clone().jpeg({ quality: 80 }).withMetadata({ orientation: 6 }).toBuffer()],
    ['png', await base.clone().png().toBuffer()],
    ['webp', await base.clone().webp().toBuffer()],
    ['gif', await base.clone().gif().toBuffer()],
    [
      'bmp',
      bmp({ width: 6, height: 4, bitsPerPixel: 24, rows: Array.from({ length: 4 }, (_, y) => Array.from({ length: 18 }, (_, i) => (i * 13 + y * 7) % 256)) }),
    ],
  ];
}

describe('intake on mutated bytes', () => {
  it('200 mutations: every outcome is an image or a GenguardError', { timeout: 20_000 }, async () => {
    const random = mulberry32(0x6e6e);
    const outcomes = { decoded: 0, refused: new Map<string, number>() };
    const inputs = await seeds();
    for (let i = 0; i < 200; i++) {
      const [name, original] = inputs[i % inputs.length]!;
      const bytes = mutate(original, random);
      try {
        const image = await loader.load(bytes);
        const rgb = await decodeRgb(image, { maxPixels: 1_000_000 });
        expect(rgb.data.length).toBe(rgb.width * rgb.height * 3);
        outcomes.decoded++;
      } catch (error) {
        if (!(error instanceof GenguardError)) {
          throw new Error(`mutation ${i} of ${name} threw a non-GenguardError: ${String(error)}`, { cause: error });
        }
        outcomes.refused.set(error.code, (outcomes.refused.get(error.code) ?? 0) + 1);
      }
    }
    // Both paths must have been exercised for the check above to mean anything.
    expect(outcomes.decoded).toBeGreaterThan(10);
    expect([...outcomes.refused.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
    expect(outcomes.refused.has('decode_failed')).toBe(true);
  });
});
