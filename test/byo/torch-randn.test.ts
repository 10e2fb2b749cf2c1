import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { torchRandn } from '../../src/detector/methods/torch-randn.js';

const fixture = JSON.parse(
  await readFile(path.resolve(import.meta.dirname, '../fixtures/parity/byo/aeroblade.json'), 'utf8'),
) as { noise: Array<{ seed: number; n: number; values: number[] }> };

describe("torchRandn reproduces torch's seeded CPU generator (values written by torch itself)", () => {
  for (const sample of fixture.noise) {
    it(`seed ${sample.seed}, ${sample.n} values (ragged tail: ${sample.n % 16 !== 0})`, () => {
      const got = torchRandn(sample.seed, sample.n);
      expect(got.length).toBe(sample.n);
      let worst = 0;
      sample.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i]! - v))));
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('refuses sizes torch draws by another algorithm', () => {
    expect(() => torchRandn(1, 15)).toThrow(RangeError);
  });
});
