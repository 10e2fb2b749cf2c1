import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClassifierDetector } from '../../src/detector/classifier-detector.js';
import { manifestModelSchema } from '../../src/detector/manifest.js';
import { OnnxSessions } from '../../src/detector/onnx/onnx-sessions.js';
import type { RawImage } from '../../src/detector/raw-image.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ImageInput } from '../../src/intake/image-input.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/onnx');
const sessions = new OnnxSessions({ intraOpThreads: 1 });
afterAll(() => sessions.close());

const image: ImageInput = { bytes: Buffer.alloc(0), format: 'png', width: 6, height: 4, orientation: 1, sha256: '', source: 't' };

function pixels(width: number, height: number, fn: (x: number, y: number, c: number) => number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = fn(x, y, c);
  return { data, width, height };
}

const raw = pixels(6, 4, (x, y, c) => (x * 37 + y * 11 + c * 80) % 256);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** tiny-gap.onnx computes 0.5·mean(R) − mean(G) + 2·mean(B) + 0.25 over the normalised crop. */
function expectedLogit(img: RawImage, x0: number, y0: number, size: number, mean: number[], std: number[]): number {
  const m = [0, 0, 0];
  for (let y = y0; y < y0 + size; y++)
    for (let x = x0; x < x0 + size; x++)
      for (let c = 0; c < 3; c++) m[c]! += (img.data[(y * img.width + x) * 3 + c]! / 255 - mean[c]!) / std[c]!;
  const n = size * size;
  return 0.5 * (m[0]! / n) - m[1]! / n + 2 * (m[2]! / n) + 0.25;
}

function detector(overrides: Record<string, unknown>) {
  const model = manifestModelSchema.parse({
    id: 'tiny',
    method: 'classifier',
    file: 'tiny-gap.onnx',
    licence: 'test',
    source: 'tools/make-test-onnx.py',
    ...overrides,
  });
  return new ClassifierDetector({ model, manifestDir: fixtures, sessions });
}

describe('ONNX classifier pipeline', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];

  it('gives the exact score of a hand-computed forward pass, with Platt calibration', async () => {
    const d = detector({
      preprocess: { crop: { mode: 'center', size: 4 }, mean, std },
      postprocess: { activation: 'sigmoid', platt: { a: 1.5, b: -0.2 } },
    });
    const out = await d.detect(image, { pixels: async () => raw });
    const logit = expectedLogit(raw, 1, 0, 4, mean, std);
    expect(out.status).toBe('ok');
    if (out.status === 'ok') expect(out.score).toBeCloseTo(sigmoid(1.5 * logit - 0.2), 5);
  });

  it('averages calibrated logits over grid crops', async () => {
    const d = detector({ preprocess: { crop: { mode: 'grid', size: 2, count: 4 }, mean, std } });
    const logits = await d.logits({ pixels: async () => raw });
    const expected = [
      [0, 0],
      [4, 0],
      [0, 2],
      [4, 2],
    ].map(([x, y]) => expectedLogit(raw, x!, y!, 2, mean, std));
    logits.forEach((l, i) => expect(l).toBeCloseTo(expected[i]!, 5));
    const out = await d.detect(image, { pixels: async () => raw });
    if (out.status !== 'ok') throw new Error('expected ok');
    expect(out.score).toBeCloseTo(sigmoid(expected.reduce((a, b) => a + b, 0) / 4), 5);
  });

  it('two-class softmax output becomes the logit difference', async () => {
    const d = detector({ file: 'two-class.onnx', postprocess: { activation: 'softmax', positiveIndex: 1 }, preprocess: { crop: { mode: 'center', size: 4 } } });
    const out = await d.detect(image, { pixels: async () => raw });
    let r = 0, g = 0;
    for (let y = 0; y < 4; y++)
      for (let x = 1; x < 5; x++) {
        r += raw.data[(y * 6 + x) * 3]! / 255;
        g += raw.data[(y * 6 + x) * 3 + 1]! / 255;
      }
    if (out.status !== 'ok') throw new Error('expected ok');
    expect(out.score).toBeCloseTo(sigmoid(g / 16 - r / 16), 5);
  });

  it('abstains with model_missing when the file is not installed', async () => {
    const out = await detector({ file: 'nope.onnx' }).detect(image, { pixels: async () => raw });
    expect(out).toMatchObject({ status: 'abstain', code: 'model_missing' });
  });

  it('refuses a file whose checksum does not match', async () => {
    const err = await detector({ sha256: 'a'.repeat(64) })
      .detect(image, { pixels: async () => raw })
      .catch((e: unknown) => e);
    expect((err as GenguardError).code).toBe('model_invalid');
  });

  it('names the real inputs when the manifest names a wrong one', async () => {
    const err = await detector({ inputName: 'image' })
      .detect(image, { pixels: async () => raw })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenguardError);
    expect((err as GenguardError).code).toBe('model_input_mismatch');
    expect((err as GenguardError).message).toContain('pixels');
  });
});
