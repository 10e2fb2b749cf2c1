import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createLocalEnsemble, METHODS } from '../../src/detector/create-local-ensemble.js';
import type { Detector } from '../../src/detector/detector.js';
import { manifestModelSchema, type Manifest } from '../../src/detector/manifest.js';
import { OnnxSessions } from '../../src/detector/onnx/onnx-sessions.js';
import type { RawImage } from '../../src/detector/raw-image.js';
import { decodeRgb } from '../../src/intake/decode-rgb.js';
import { ImageLoader } from '../../src/intake/image-loader.js';

/**
 * The five published detectors, exported by tools/export/<method>.py --self-test with random
 * weights, run through the real pipeline (manifest → METHODS → preprocessing → onnxruntime →
 * postprocessing) and compared with the authors' pipeline run in PyTorch.
 */
interface ParityImage {
  file: string;
  score: number;
  logit?: number;
  distances?: Record<string, number>;
}
interface ParityCase {
  name: string;
  entry: Record<string, unknown>;
  images: ParityImage[];
}
interface ParityFixture {
  method: string;
  tolerance: number;
  note: string;
  cases: ParityCase[];
}

const dir = path.resolve(import.meta.dirname, '../fixtures/parity/byo');
const METHOD_FILES = ['cnnspot', 'univfd', 'npr', 'aeroblade', 'fire'];
const config = loadConfig({});
const sessions = new OnnxSessions({ intraOpThreads: 1 });
const loader = new ImageLoader({ limits: config.intake });
const worst = new Map<string, number>();
afterAll(async () => {
  await sessions.close();
  await loader.close();
  console.log(`BYO parity, max |Δ|: ${JSON.stringify(Object.fromEntries([...worst].map(([k, v]) => [k, Number(v.toPrecision(2))])))}`);
});

function note(key: string, diff: number) {
  worst.set(key, Math.max(worst.get(key) ?? 0, diff));
}

async function load(file: string) {
  const image = await loader.load(path.join(dir, file));
  const pixels: RawImage = await decodeRgb(image, { maxPixels: config.intake.maxPixels });
  return { image, context: { pixels: async () => pixels } };
}

type WithRaw = Detector & {
  logits?: (c: { pixels: () => Promise<RawImage> }) => Promise<number[]>;
  distances?: (c: { pixels: () => Promise<RawImage> }) => Promise<Record<string, number>>;
};

for (const method of METHOD_FILES) {
  const file = path.join(dir, `${method}.json`);
  if (!existsSync(file)) {
    it(`${method}: has a parity fixture (run tools/export/${method}.py --self-test)`, () => {
      expect.fail(`missing ${file}`);
    });
    continue;
  }
  const fixture = JSON.parse(await readFile(file, 'utf8')) as ParityFixture;
  describe(`${method}: official pipeline parity`, () => {
    const tol = fixture.tolerance;

    for (const c of fixture.cases) {
      const model = manifestModelSchema.parse(c.entry);
      const manifest: Manifest = { version: 'parity', models: [model], dir, path: path.join(dir, 'manifest.json') };

      it(`${c.name}: scores and raw outputs match PyTorch within ${tol}`, async () => {
        const factory = METHODS[model.method];
        expect(factory, `method ${model.method} is registered`).toBeDefined();
        const detector = factory!(model, { manifest, sessions }) as WithRaw;
        for (const img of c.images) {
          const { image, context } = await load(img.file);
          const outcome = await detector.detect(image, context);
          expect(outcome, img.file).toMatchObject({ status: 'ok' });
          if (outcome.status !== 'ok') continue;
          const d = Math.abs(outcome.score - img.score);
          note(`${method}.score`, d);
          expect(d, `${img.file} score ${outcome.score} vs ${img.score}`).toBeLessThanOrEqual(tol);
          if (img.logit !== undefined && detector.logits) {
            const [logit] = await detector.logits(context);
            const dl = Math.abs(logit! - img.logit);
            note(`${method}.logit`, dl);
            expect(dl, `${img.file} logit ${logit} vs ${img.logit}`).toBeLessThanOrEqual(tol);
          }
          if (img.distances && detector.distances) {
            const got = await detector.distances(context);
            for (const [role, expected] of Object.entries(img.distances)) {
              const dd = Math.abs(got[role]! - expected);
              note(`${method}.distance`, dd);
              expect(dd, `${img.file} ${role} distance ${got[role]} vs ${expected}`).toBeLessThanOrEqual(tol);
            }
          }
        }
      });

      it(`${c.name}: runs as an ensemble member built from the manifest`, async () => {
        const ensemble = await createLocalEnsemble(config, { manifest, only: [model.id], sessions });
        const img = c.images[0]!;
        const { image } = await load(img.file);
        const result = await ensemble.detect(image);
        // model_results are rounded to 4 decimals for display.
        expect(Math.abs(result.model_results[model.id]!.score - img.score)).toBeLessThanOrEqual(tol + 5e-5);
      });
    }
  });
}
