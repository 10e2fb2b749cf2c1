// Runs each parity fixture through the real TS preprocess/postprocess + onnxruntime-node:
//   node --import tsx training/check-parity.ts npr cnnspot probe
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadManifest } from '../src/detector/manifest.js';
import { preprocess } from '../src/detector/preprocess.js';
import { logitsOf, scoreOf } from '../src/detector/postprocess.js';

const root = path.resolve(import.meta.dirname, '..');
const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
let failed = 0;
for (const id of process.argv.slice(2)) {
  const fx = JSON.parse(await readFile(path.join(root, 'test/fixtures/parity', `${id}.json`), 'utf8')) as {
    image: string; expected_score: number; expected_logits: number[]; tolerance: number;
  };
  const model = manifest.models.find((m) => m.id === id);
  if (!model?.file) throw new Error(`no manifest entry for ${id}`);
  const { data, info } = await sharp(path.join(root, 'test/fixtures/parity', fx.image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const input = await preprocess({ data, width: info.width, height: info.height }, model.preprocess);
  const session = await ort.InferenceSession.create(path.join(manifest.dir, model.file));
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) });
  const logits = logitsOf(out[session.outputNames[0]!]!.data as Float32Array, input.crops, model.postprocess);
  const score = scoreOf(logits, model.postprocess);
  const maxDiff = Math.max(...logits.map((l, i) => Math.abs(l - fx.expected_logits[i]!)), Math.abs(score - fx.expected_score));
  const ok = logits.length === fx.expected_logits.length && maxDiff <= fx.tolerance;
  if (!ok) failed++;
  console.log(JSON.stringify({ id, ok, crops: logits.length, maxDiff, score, expected: fx.expected_score }));
}
process.exit(failed ? 1 : 0);
