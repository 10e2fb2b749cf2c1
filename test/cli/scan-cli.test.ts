import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/genguard.js');
const comfy = path.resolve(root, '../shared/datasets/fixtures/provenance/comfyui');

async function genguard(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      maxBuffer: 10 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'genguard-scan-'));
  await mkdir(path.join(dir, 'nested'));
  const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
  await writeFile(path.join(dir, 'a-photo.jpg'), photo);
  await writeFile(path.join(dir, 'nested', 'b-truncated.jpg'), photo.subarray(0, Math.floor(photo.length / 2)));
  await writeFile(path.join(dir, 'c-notes.jpg'), 'this is not an image\n');
  await writeFile(path.join(dir, 'labels.tsv'), 'path\tlabel\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('genguard scan (the CLI as a user runs it)', () => {
  it('--json prints one object per image, errors included, and exits 0', async () => {
    const { code, stdout } = await genguard(['scan', '--json', dir]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => path.basename(String(l['file'])))).toEqual(['a-photo.jpg', 'c-notes.jpg', 'b-truncated.jpg']);
    const [photo, notes, truncated] = lines;
    expect(notes?.['error']).toMatchObject({ code: 'unsupported_format' });
    expect(truncated?.['error']).toMatchObject({ code: 'decode_failed' });
    // The plain photo gets a full result from the pixel models (or, without them, a clear error).
    if (photo?.['error'] === undefined) {
      expect(photo).toMatchObject({ verdict: expect.stringMatching(/^(ai_generated|uncertain|likely_real)$/) });
      expect(typeof photo?.['ensemble_score']).toBe('number');
      expect(photo?.['models_total']).toBeGreaterThanOrEqual(1);
    } else {
      expect(photo['error']).toMatchObject({ code: 'no_model_succeeded' });
    }
  });

  it('names a generator found in metadata', async () => {
    const { code, stdout } = await genguard(['scan', '--json', comfy]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; model_results: Record<string, { score: number }>; evidence: string[] });
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line.model_results['provenance']?.score).toBeGreaterThanOrEqual(0.9);
      expect(line.evidence.join(' ')).toMatch(/comfyui/i);
    }
  });

  it('prints a readable table by default', async () => {
    const { code, stdout } = await genguard(['scan', path.join(dir, 'c-notes.jpg')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^file\s+verdict\s+score/m);
    expect(stdout).toContain('unsupported_format');
  });

  it('a missing file is an error line, not a crash', async () => {
    const { code, stdout } = await genguard(['scan', '--json', path.join(dir, 'nope.png')]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ error: { code: 'not_found' } });
  });

  it('usage errors exit non-zero', async () => {
    expect((await genguard(['scan'])).code).toBe(2);
    expect((await genguard(['scan', '--backend', 'nonsense', dir])).code).toBe(2);
    expect((await genguard(['frobnicate'])).code).toBe(2);
  });

  it('invalid configuration is reported and exits non-zero', async () => {
    const r = await genguard(['scan', dir], { GENGUARD_AI_THRESHOLD: 'high' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('GENGUARD_AI_THRESHOLD');
  });
});
