import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/genguard.js');

/**
 * `genguard eval` end to end with a deterministic model: tiny-gap.onnx scores
 * sigmoid(0.5·R − G + 2·B + 0.25) on mean channel values in [0, 1], so a blue image scores
 * sigmoid(2.25) ≈ 0.905 and a green one sigmoid(−0.75) ≈ 0.321.
 */
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'genguard-eval-'));
  await mkdir(path.join(dir, 'real'));
  await mkdir(path.join(dir, 'ai'));
  const solid = (r: number, g: number, b: number) =>
    sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).png().toBuffer();
  for (let i = 0; i < 3; i++) {
    await writeFile(path.join(dir, 'real', `green-${i}.png`), await solid(0, 255, 0));
    await writeFile(path.join(dir, 'ai', `blue-${i}.png`), await solid(0, 0, 255));
  }
  const whole = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  await writeFile(path.join(dir, 'real', 'broken.png'), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: 'test',
      models: [
        {
          id: 'tiny',
          method: 'classifier',
          file: path.join(root, 'test/fixtures/onnx/tiny-gap.onnx'),
          licence: 'test',
          source: 'tools/make-test-onnx.py',
        },
      ],
    }),
  );
  env = { GENGUARD_MODELS_MANIFEST: path.join(dir, 'manifest.json') };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('genguard eval', () => {
  it('--json reports counts, AUC, cut-offs, per-model AUC, latency and errors', async () => {
    const { stdout } = await run(process.execPath, [bin, 'eval', '--json', '--real', path.join(dir, 'real'), '--ai', path.join(dir, 'ai')], {
      env: { ...process.env, ...env },
    });
    const r = JSON.parse(stdout);
    expect(r.counts).toEqual({ real: 4, ai: 3, scored: 6, errors: 1 });
    expect(r.roc_auc).toBe(1);
    expect(r.at_0_7).toMatchObject({ accuracy: 1, balanced_accuracy: 1, tpr: 1, fpr: 0 });
    expect(r.at_0_5).toMatchObject({ tpr: 1, fpr: 0 });
    expect(r.tpr_at_5pct_fpr).toBe(1);
    expect(r.per_model).toEqual({ tiny: { auc: 1, n: 6 } });
    expect(r.latency.mean_ms).toBeGreaterThan(0);
    expect(r.errors).toEqual([{ file: path.join(dir, 'real', 'broken.png'), code: 'decode_failed', message: expect.any(String) }]);
  });

  it('prints a readable report and writes per-file scores', async () => {
    const scores = path.join(dir, 'scores.tsv');
    const { stdout } = await run(
      process.execPath,
      [bin, 'eval', '--real', path.join(dir, 'real'), '--ai', path.join(dir, 'ai'), '--scores', scores],
      { env: { ...process.env, ...env } },
    );
    expect(stdout).toContain('ROC AUC (ensemble score):   1.000');
    expect(stdout).toMatch(/tiny\s+AUC 1\.000 {2}\(n=6\)/);
    const { readFile } = await import('node:fs/promises');
    const rows = (await readFile(scores, 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('file\tlabel\tscore\ttiny\tlatency_ms\terror');
    const blue = rows.find((l) => l.includes('blue-0.png'))!.split('\t');
    expect(Number(blue[2])).toBeCloseTo(1 / (1 + Math.exp(-2.25)), 4);
  });
});
