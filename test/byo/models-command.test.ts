import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { BYO_PRESETS } from '../../src/detector/model-store/byo-presets.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/parity/byo');
const fixture = async (name: string) =>
  JSON.parse(await readFile(path.join(fixtures, `${name}.json`), 'utf8')) as {
    cases: Array<{ name: string; entry: Record<string, unknown>; images: Array<{ file: string; score: number }> }>;
  };
const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

let dir: string;
let manifestPath: string;
let server: Server;
let base: string;
const savedEnv = process.env['GENGUARD_MODELS_MANIFEST'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'genguard-models-'));
  await mkdir(path.join(dir, 'models'));
  await mkdir(path.join(dir, 'downloads'));
  manifestPath = path.join(dir, 'models', 'manifest.json');
  await writeFile(manifestPath, JSON.stringify({ version: 'test', models: [] }));
  process.env['GENGUARD_MODELS_MANIFEST'] = manifestPath;
  const npr = await readFile(path.join(fixtures, 'npr.onnx'));
  server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/files/npr.onnx' }).end();
    } else if (req.url === '/files/npr.onnx') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(npr);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (savedEnv === undefined) delete process.env['GENGUARD_MODELS_MANIFEST'];
  else process.env['GENGUARD_MODELS_MANIFEST'] = savedEnv;
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  process.exitCode = undefined;
});

/** Runs the CLI in-process, as bin/genguard.js does, capturing what it prints. */
async function genguard(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(['node', 'genguard', ...args]);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = undefined;
  }
}

const manifest = async () => JSON.parse(await readFile(manifestPath, 'utf8')) as { models: Array<Record<string, unknown>> };

describe('genguard models add → scan with a bring-your-own model', () => {
  it('adds an exported CNNSpot file under its preset, then `scan` runs it', async () => {
    const src = path.join(dir, 'downloads', 'cnnspot.onnx');
    await copyFile(path.join(fixtures, 'cnnspot.onnx'), src);
    const added = await genguard('models', 'add', src, '--id', 'cnnspot-official', '--sha256', await sha(src));
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('CC BY-NC-SA 4.0');
    expect(added.stdout).toContain('non-commercial use only');
    const entry = (await manifest()).models.find((m) => m['id'] === 'cnnspot-official')!;
    expect(entry).toMatchObject({ method: 'classifier', file: 'byo/cnnspot-official.onnx', sha256: await sha(src) });
    expect(existsSync(path.join(dir, 'models', 'byo', 'cnnspot-official.onnx'))).toBe(true);

    const expected = (await fixture('cnnspot')).cases.find((c) => c.name === 'native')!.images[0]!;
    const scan = await genguard('scan', '--json', '--models', 'cnnspot-official', path.join(fixtures, expected.file));
    expect(scan.code, scan.stderr).toBe(0);
    const line = JSON.parse(scan.stdout.trim()) as { model_results: Record<string, { score: number }> };
    expect(Math.abs(line.model_results['cnnspot-official']!.score - expected.score)).toBeLessThanOrEqual(1.5e-4);
  });

  it('lists installed models with their licences', async () => {
    const { code, stdout } = await genguard('models', 'list');
    expect(code).toBe(0);
    expect(stdout).toMatch(/cnnspot-official\s+classifier\s+enabled\s+installed/);
    expect(stdout).toContain('licence: CC BY-NC-SA 4.0');
    const json = await genguard('models', 'list', '--json');
    expect(JSON.parse(json.stdout.split('\n')[0]!)).toMatchObject({ id: 'cnnspot-official', files: [{ installed: true }] });
  });

  it('verify passes, then flags a changed file with exit code 1', async () => {
    expect((await genguard('models', 'verify')).code).toBe(0);
    await appendFile(path.join(dir, 'models', 'byo', 'cnnspot-official.onnx'), 'x');
    const bad = await genguard('models', 'verify', 'cnnspot-official');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('CHANGED');
    // A changed file is refused at load (model_invalid), so the image gets a clear error, not a crash.
    const scan = await genguard('scan', '--json', '--models', 'cnnspot-official', path.join(fixtures, 'cnnspot-a.png'));
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.stdout.trim())).toMatchObject({ error: { code: 'no_model_succeeded' } });
  });

  it('a missing file shows in list and verify, and the member abstains with model_missing', async () => {
    await rm(path.join(dir, 'models', 'byo', 'cnnspot-official.onnx'));
    expect((await genguard('models', 'list')).stdout).toContain('missing byo/cnnspot-official.onnx');
    const verify = await genguard('models', 'verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('MISSING');
    const scan = await genguard('scan', '--json', '--models', 'cnnspot-official', path.join(fixtures, 'cnnspot-a.png'));
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.stdout.trim())['error']['message']).toContain('model_missing');
  });
});

describe('genguard models add from a URL', () => {
  it('refuses a URL without --sha256', async () => {
    const r = await genguard('models', 'add', `${base}/files/npr.onnx`, '--id', 'npr-official');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to download');
  });

  it('discards a download whose checksum does not match, leaving the manifest alone', async () => {
    const before = await readFile(manifestPath, 'utf8');
    const r = await genguard('models', 'add', `${base}/files/npr.onnx`, '--id', 'npr-official', '--sha256', 'a'.repeat(64));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected aaaa');
    expect(await readFile(manifestPath, 'utf8')).toBe(before);
    expect(existsSync(path.join(dir, 'models', 'byo', 'npr-official.onnx'))).toBe(false);
  });

  it('follows redirects, verifies and installs', async () => {
    const want = await sha(path.join(fixtures, 'npr.onnx'));
    const r = await genguard('models', 'add', `${base}/redirect`, '--id', 'npr-official', '--sha256', want);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha(path.join(dir, 'models', 'byo', 'npr-official.onnx'))).toBe(want);
    expect((await manifest()).models.find((m) => m['id'] === 'npr-official')).toMatchObject({ sha256: want, method: 'classifier' });
  });

  it('reports an HTTP error without touching the manifest', async () => {
    const r = await genguard('models', 'add', `${base}/nope.onnx`, '--id', 'fire', '--sha256', 'b'.repeat(64));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 404');
  });
});

describe('genguard models add: several files, unknown ids', () => {
  it('adds AEROBLADE autoencoders one role at a time, and needs --role', async () => {
    const src = path.join(fixtures, 'aeroblade-sd.onnx');
    expect((await genguard('models', 'add', src, '--id', 'aeroblade-official')).code).toBe(2);
    const r = await genguard('models', 'add', src, '--id', 'aeroblade-official', '--role', 'sd1');
    expect(r.code, r.stderr).toBe(0);
    const entry = (await manifest()).models.find((m) => m['id'] === 'aeroblade-official')!;
    expect(entry).toMatchObject({ method: 'aeroblade', slow: true, files: [{ role: 'sd1', file: 'byo/aeroblade-official-sd1.onnx' }] });
    expect(r.stdout).toContain('--models aeroblade-official');
  });

  it('asks for --method or --entry for an id it does not know', async () => {
    const r = await genguard('models', 'add', path.join(fixtures, 'npr.onnx'), '--id', 'my-model');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--method');
  });

  it('takes the entry an exporter printed', async () => {
    const e = (await fixture('univfd')).cases[0]!.entry;
    const entryFile = path.join(dir, 'downloads', 'entry.json');
    await writeFile(entryFile, JSON.stringify({ ...e, id: 'univfd-mine', file: 'elsewhere.onnx' }));
    const r = await genguard('models', 'add', path.join(fixtures, 'univfd.onnx'), '--entry', entryFile, '--disable');
    expect(r.code, r.stderr).toBe(0);
    expect((await manifest()).models.find((m) => m['id'] === 'univfd-mine')).toMatchObject({
      file: 'byo/univfd-mine.onnx',
      enabled: false,
      preprocess: e['preprocess'],
    });
  });
});

describe('presets follow the exporters', () => {
  const pairs: Array<[string, string, string]> = [
    ['cnnspot-official', 'cnnspot', 'native'],
    ['univfd-official', 'univfd', 'crop224'],
    ['npr-official', 'npr', 'resize256'],
    ['aeroblade-official', 'aeroblade', 'sd+movq'],
    ['fire', 'fire', 'resize256-crop256'],
  ];
  for (const [preset, method, name] of pairs) {
    it(`${preset} preprocesses like tools/export/${method}.py`, async () => {
      const entry = (await fixture(method)).cases.find((c) => c.name === name)!.entry;
      const p = BYO_PRESETS[preset]!.entry;
      for (const key of ['method', 'preprocess', 'postprocess', 'slow', 'enabled']) expect(p[key], key).toEqual(entry[key]);
    });
  }
});
