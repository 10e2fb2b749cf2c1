import { describe, expect, it } from 'vitest';
import { cropPositions, preprocess } from '../../src/detector/preprocess.js';
import { preprocessSchema } from '../../src/detector/manifest.js';
import type { RawImage } from '../../src/detector/raw-image.js';

/** A w×h image whose pixel (x, y) is (x, y, 7) — every value is traceable. */
function ramp(width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x;
      data[i + 1] = y;
      data[i + 2] = 7;
    }
  return { data, width, height };
}

describe('crop positions', () => {
  it('center crop is floor((W−S)/2)', () => {
    expect(cropPositions(300, 201, 224, 1)).toEqual([[38, 0]]);
    expect(cropPositions(256, 256, 224, 1)).toEqual([[16, 16]]);
  });
  it('grid spreads k×k origins corner to corner, row-major, first N', () => {
    expect(cropPositions(1000, 600, 256, 4)).toEqual([
      [0, 0],
      [744, 0],
      [0, 344],
      [744, 344],
    ]);
    expect(cropPositions(1000, 600, 256, 3)).toEqual([
      [0, 0],
      [744, 0],
      [0, 344],
    ]);
  });
  it('collapses duplicate origins on an axis that fits exactly or is smaller', () => {
    expect(cropPositions(256, 256, 256, 4)).toEqual([[0, 0]]);
    expect(cropPositions(100, 600, 256, 4)).toEqual([
      [0, 0],
      [0, 344],
    ]);
  });
});

describe('preprocess', () => {
  it('normalises to NCHW: (x/scale − mean)/std', async () => {
    const spec = preprocessSchema.parse({ mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    const out = await preprocess(ramp(4, 2), spec);
    expect(out.dims).toEqual([1, 3, 2, 4]);
    // R plane, pixel (x=3, y=1): (3/255 − 0.5)/0.5
    expect(out.data[1 * 4 + 3]).toBeCloseTo((3 / 255 - 0.5) / 0.5, 6);
    // G plane, pixel (x=0, y=1): (1/255 − 0.25)/0.25
    expect(out.data[8 + 4]).toBeCloseTo((1 / 255 - 0.25) / 0.25, 6);
    // B plane everywhere 7/255/2
    expect(out.data[16]).toBeCloseTo(7 / 255 / 2, 6);
  });

  it('crops a grid at native resolution and batches the crops', async () => {
    const spec = preprocessSchema.parse({ crop: { mode: 'grid', size: 2, count: 4 } });
    const out = await preprocess(ramp(5, 4), spec);
    expect(out.dims).toEqual([4, 3, 2, 2]);
    // crop 1 is at x=3, y=0: its R plane top-left is 3/255
    expect(out.data[12]).toBeCloseTo(3 / 255, 6);
    // crop 2 is at x=0, y=2: its G plane top-left is 2/255
    expect(out.data[2 * 12 + 4]).toBeCloseTo(2 / 255, 6);
  });

  it('zero-pads (after normalisation) an image smaller than the crop', async () => {
    const spec = preprocessSchema.parse({ crop: { mode: 'center', size: 4, pad: true }, mean: [1, 1, 1] });
    const out = await preprocess(ramp(3, 2), spec);
    expect(out.dims).toEqual([1, 3, 4, 4]);
    expect(out.data[0]).toBeCloseTo(0 / 255 - 1, 6); // real pixel
    expect(out.data[3]).toBe(0); // x=3 is padding
    expect(out.data[2 * 4 + 0]).toBe(0); // y=2 is padding
  });

  it('trims to a size multiple by dropping the right column and bottom row', async () => {
    const spec = preprocessSchema.parse({ sizeMultiple: 2 });
    const out = await preprocess(ramp(5, 3), spec);
    expect(out.dims).toEqual([1, 3, 2, 4]);
    expect(out.data[3]).toBeCloseTo(3 / 255, 6);
  });

  it('resizes the shorter side and exact squares', async () => {
    const shorter = await preprocess(ramp(40, 20), preprocessSchema.parse({ resize: { mode: 'shorter', size: 10 } }));
    expect(shorter.dims).toEqual([1, 3, 10, 20]);
    const exact = await preprocess(ramp(40, 20), preprocessSchema.parse({ resize: { mode: 'exact', size: 8 } }));
    expect(exact.dims).toEqual([1, 3, 8, 8]);
  });
});
