import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METHODS } from '../../src/detector/create-local-ensemble.js';
import { manifestModelSchema, type Manifest } from '../../src/detector/manifest.js';
import { BYO_PRESETS } from '../../src/detector/model-store/byo-presets.js';
import { OnnxSessions } from '../../src/detector/onnx/onnx-sessions.js';
import type { RawImage } from '../../src/detector/raw-image.js';
import type { ImageInput } from '../../src/intake/image-input.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/parity/byo');
const sessions = new OnnxSessions({ intraOpThreads: 1 });
afterAll(() => sessions.close());

const image: ImageInput = { bytes: Buffer.alloc(0), format: 'png', width: 64, height: 48, orientation: 1, sha256: '', source: 't' };
const pixels = (width: number, height: number): RawImage => ({ data: Buffer.alloc(width * height * 3, 128), width, height });

function detector(entry: Record<string, unknown>) {
  const model = manifestModelSchema.parse(entry);
  const manifest: Manifest = { version: 't', models: [model], dir: fixtures, path: path.join(fixtures, 'manifest.json') };
  return METHODS[model.method]!(model, { manifest, sessions });
}

describe('a BYO entry whose weights are not installed abstains (model_missing), never crashes', () => {
  for (const [id, preset] of Object.entries(BYO_PRESETS)) {
    it(id, async () => {
      const files = preset.roles ? { files: preset.roles.map((role) => ({ role, file: `nope/${id}-${role}.onnx` })) } : { file: `nope/${id}.onnx` };
      const out = await detector({ id, ...preset.entry, ...files }).detect(image, { pixels: async () => pixels(64, 48) });
      expect(out).toMatchObject({ status: 'abstain', code: 'model_missing' });
    });
  }

  it('AEROBLADE abstains when only one of its autoencoders is missing', async () => {
    const files = [
      { role: 'sd', file: 'aeroblade-sd.onnx' },
      { role: 'kd', file: 'missing-kd.onnx' },
    ];
    const out = await detector({ id: 'a', ...BYO_PRESETS['aeroblade-official']!.entry, files }).detect(image, { pixels: async () => pixels(64, 48) });
    expect(out).toMatchObject({ status: 'abstain', code: 'model_missing' });
    if (out.status === 'abstain') expect(out.reason).toContain('"kd"');
  });
});

describe('AEROBLADE size limits', () => {
  const entry = { id: 'a', ...BYO_PRESETS['aeroblade-official']!.entry, files: [{ role: 'sd', file: 'aeroblade-sd.onnx' }] };

  it('abstains above options.maxPixels instead of spending minutes', async () => {
    const d = detector({ ...entry, options: { maxPixels: 1000 } });
    expect(await d.detect(image, { pixels: async () => pixels(40, 32) })).toMatchObject({ status: 'abstain', code: 'too_many_pixels' });
  });

  it('abstains on images too small to reconstruct', async () => {
    expect(await detector(entry).detect(image, { pixels: async () => pixels(15, 15) })).toMatchObject({ status: 'abstain', code: 'too_small' });
  });

  it('reports the winning distance as evidence', async () => {
    const out = await detector(entry).detect(image, { pixels: async () => pixels(32, 24) });
    expect(out.status).toBe('ok');
    if (out.status === 'ok') expect(out.evidence?.[0]).toMatch(/^reconstruction distance \d\.\d{5} \(sd\)$/);
  });
});
