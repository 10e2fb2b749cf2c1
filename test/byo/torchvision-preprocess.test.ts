import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pilResize, type PilKernel } from '../../src/detector/methods/pil-resample.js';
import { centerCrop, preprocessTorchvision, shorterSide } from '../../src/detector/methods/torchvision-preprocess.js';
import { preprocessSchema } from '../../src/detector/manifest.js';
import { GenguardError } from '../../src/errors/genguard-error.js';

const fixture = JSON.parse(
  await readFile(path.resolve(import.meta.dirname, '../fixtures/parity/byo/pil-resize.json'), 'utf8'),
) as {
  source: { width: number; height: number; data: string };
  resize: Array<{ kernel: PilKernel; width: number; height: number; output: string }>;
  shorter: Array<{ width: number; height: number; size: number; outWidth: number; outHeight: number }>;
  centerCrop: Array<{ size: number; output: string }>;
};
const source = { data: Buffer.from(fixture.source.data, 'base64'), width: fixture.source.width, height: fixture.source.height };

function differingBytes(a: Buffer, b: Buffer): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('Pillow-exact resampling (written by tools/export/pil_cases.py with the real Pillow)', () => {
  for (const c of fixture.resize) {
    it(`${c.kernel} ${fixture.source.width}×${fixture.source.height} → ${c.width}×${c.height} matches Pillow byte for byte`, () => {
      const out = pilResize(source, c.width, c.height, c.kernel);
      const expected = Buffer.from(c.output, 'base64');
      expect([out.width, out.height]).toEqual([c.width, c.height]);
      expect(differingBytes(out.data, expected)).toBe(0);
    });
  }

  it("computes torchvision's shorter-side size (truncating, not rounding)", () => {
    for (const c of fixture.shorter) {
      expect(shorterSide(c.width, c.height, c.size)).toEqual({ width: c.outWidth, height: c.outHeight });
    }
  });

  for (const c of fixture.centerCrop) {
    it(`CenterCrop(${c.size}) pads centred with black and rounds offsets half to even, like torchvision`, () => {
      const out = centerCrop(source, c.size);
      expect(differingBytes(out.data, Buffer.from(c.output, 'base64'))).toBe(0);
    });
  }

  it('normalises in float32 like ToTensor + Normalize, padding included', () => {
    const spec = preprocessSchema.parse({
      compat: 'torchvision',
      crop: { mode: 'center', size: 40 },
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    const input = preprocessTorchvision(source, spec);
    expect(input.dims).toEqual([1, 3, 40, 40]);
    // Top-left is padding: a black pixel, normalised (not zero as genguard's own padding would be).
    expect(input.data[0]).toBe(Math.fround(Math.fround(0 - Math.fround(0.485)) / Math.fround(0.229)));
    // 40 − 23 = 17 rows of padding: 8 above, 9 below; 40 − 37 = 3 columns: 1 left, 2 right.
    const p = source.data[0]!;
    const expected = Math.fround(Math.fround(Math.fround(p / 255) - Math.fround(0.485)) / Math.fround(0.229));
    expect(input.data[8 * 40 + 1]).toBe(expected);
  });

  it('refuses grid crops, which torchvision has no equivalent for', () => {
    const spec = preprocessSchema.parse({ compat: 'torchvision', crop: { mode: 'grid', size: 8, count: 4 } });
    expect(() => preprocessTorchvision(source, spec)).toThrow(GenguardError);
  });
});
