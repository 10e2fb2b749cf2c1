/**
 * Parity of the shipped models: the TypeScript pipeline (intake → decode → preprocess → onnxruntime
 * → postprocess) on a fixture image must give the score PyTorch computed at training time
 * (test/fixtures/parity/<id>.json, written by training/export.py).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ClassifierDetector } from '../../src/detector/classifier-detector.js';
import { loadManifest } from '../../src/detector/manifest.js';
import { OnnxSessions } from '../../src/detector/onnx/onnx-sessions.js';
import { decodeRgb } from '../../src/intake/decode-rgb.js';
import { ImageLoader } from '../../src/intake/image-loader.js';

const dir = path.resolve(import.meta.dirname, '../fixtures/parity');
interface Fixture {
  model: string;
  image: string;
  expected_score: number;
  expected_logits: number[];
  tolerance: number;
}
const fixtures: Fixture[] = readdirSync(dir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.json'))
  .map((e) => JSON.parse(readFileSync(path.join(dir, e.name), 'utf8')) as Fixture);

const config = loadConfig({});
const sessions = new OnnxSessions();
const loader = new ImageLoader({ limits: config.intake });
afterAll(async () => {
  await sessions.close();
  await loader.close();
});

describe('shipped models match PyTorch', () => {
  it('every enabled classifier in the manifest has a parity fixture', async () => {
    const manifest = await loadManifest(config.manifestPath);
    const withFixture = new Set(fixtures.map((f) => f.model));
    const missing = manifest.models.filter((m) => m.method === 'classifier' && m.enabled && !withFixture.has(m.id));
    expect(missing.map((m) => m.id)).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.model, f] as const))('%s', async (_id, fixture) => {
    const manifest = await loadManifest(config.manifestPath);
    const model = manifest.models.find((m) => m.id === fixture.model);
    expect(model, `manifest entry for ${fixture.model}`).toBeDefined();
    const detector = new ClassifierDetector({ model: model!, manifestDir: manifest.dir, sessions });
    const image = await loader.load(path.join(dir, fixture.image));
    const context = { pixels: () => decodeRgb(image, { maxPixels: config.intake.maxPixels }) };
    const logits = await detector.logits(context);
    expect(logits).toHaveLength(fixture.expected_logits.length);
    logits.forEach((l, i) => expect(Math.abs(l - fixture.expected_logits[i]!)).toBeLessThanOrEqual(fixture.tolerance));
    const out = await detector.detect(image, context);
    expect(out.status).toBe('ok');
    if (out.status === 'ok') expect(Math.abs(out.score - fixture.expected_score)).toBeLessThanOrEqual(fixture.tolerance);
  });
});
