/**
 * Latency of the five published detectors at full size (random weights, same graphs as the
 * official checkpoints give): `npm run bench -- --only methods [--method cnnspot,univfd,…] [--runs N]`.
 *
 * Each architecture is exported once by tools/export/<method>.py --random-weights into
 * $TMPDIR/genguard-bench-models (outside the repository, never committed) and reused by later
 * runs. Needs a Python with torch and onnx: GENGUARD_PYTHON, else /usr/bin/python3, else python3.
 * Times cover preprocessing + inference on already-decoded pixels, one image at a time.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/load-config.js';
import { METHODS } from '../src/detector/create-local-ensemble.js';
import { manifestModelSchema, type Manifest } from '../src/detector/manifest.js';
import { OnnxSessions } from '../src/detector/onnx/onnx-sessions.js';
import type { RawImage } from '../src/detector/raw-image.js';
import type { ImageInput } from '../src/intake/image-input.js';
import { measure, printTimings, type Timing } from './lib/measure.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run$ = promisify(execFile);

interface Plan {
  /** Image sizes to time (the input, before the method's own resize/crop). */
  sizes: Array<[number, number]>;
  runs: number;
  warmup: number;
}

const PLANS: Record<string, Plan> = {
  cnnspot: { sizes: [[224, 224], [512, 512]], runs: 10, warmup: 2 },
  univfd: { sizes: [[512, 384]], runs: 5, warmup: 1 },
  npr: { sizes: [[512, 384]], runs: 10, warmup: 2 },
  aeroblade: { sizes: [[256, 256]], runs: 2, warmup: 1 },
  fire: { sizes: [[512, 384]], runs: 2, warmup: 1 },
};

function python(): string {
  return process.env['GENGUARD_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** The manifest entry of the full-size random-weight export, exporting on first use. */
async function benchEntry(method: string, dir: string): Promise<Record<string, unknown>> {
  const cached = path.join(dir, `${method}.entry.json`);
  if (existsSync(cached)) return JSON.parse(await readFile(cached, 'utf8')) as Record<string, unknown>;
  console.log(`exporting full-size ${method} with random weights (once) …`);
  const t0 = Date.now();
  const { stdout } = await run$(
    python(),
    [path.join(root, 'tools/export', `${method}.py`), '--random-weights', '--out', dir, '--id', `${method}-bench`],
    { cwd: root, maxBuffer: 16 * 2 ** 20 },
  );
  console.log(`  done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  await writeFile(cached, stdout);
  return JSON.parse(stdout) as Record<string, unknown>;
}

function pixels(width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  let s = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        data[(y * width + x) * 3 + c] = (x * (c + 1) + y * 2 + (s % 40)) & 255;
      }
    }
  }
  return { data, width, height };
}

export async function run(args: string[]): Promise<void> {
  const pick = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const wanted = (pick('--method') ?? Object.keys(PLANS).join(',')).split(',').filter(Boolean);
  const unknown = wanted.filter((m) => !PLANS[m]);
  if (unknown.length > 0) throw new Error(`unknown --method ${unknown.join(', ')}; known: ${Object.keys(PLANS).join(', ')}`);
  const runsOverride = pick('--runs') === undefined ? undefined : Number(pick('--runs'));
  const dir = path.join(tmpdir(), 'genguard-bench-models');
  await mkdir(dir, { recursive: true });
  const config = loadConfig();
  const sessions = new OnnxSessions({ intraOpThreads: config.env.GENGUARD_ORT_THREADS });
  const image: ImageInput = { bytes: Buffer.alloc(0), format: 'png', width: 0, height: 0, orientation: 1, sha256: '', source: 'bench' };
  const rows: Timing[] = [];
  try {
    for (const method of wanted) {
      const plan = PLANS[method]!;
      const model = manifestModelSchema.parse(await benchEntry(method, dir));
      const manifest: Manifest = { version: 'bench', models: [model], dir, path: path.join(dir, 'manifest.json') };
      const detector = METHODS[model.method]!(model, { manifest, sessions });
      for (const [w, h] of plan.sizes) {
        const raw = pixels(w, h);
        const detect = async () => {
          const out = await detector.detect(image, { pixels: async () => raw });
          if (out.status !== 'ok') throw new Error(`${method}: ${out.code} ${out.reason}`);
        };
        const t0 = performance.now();
        await detect(); // first call: session creation (not timed below)
        console.log(`${method} ${w}×${h}: first call (load + run) ${(performance.now() - t0).toFixed(0)} ms`);
        const label = method === 'aeroblade' ? `${method} ${w}×${h} (${model.files.map((f) => f.role).join(' + ')})` : `${method} ${w}×${h}`;
        rows.push(await measure(label, detect, { runs: runsOverride ?? plan.runs, warmup: plan.warmup }));
      }
    }
  } finally {
    await sessions.close();
  }
  printTimings(`research detectors, full size, random weights (ORT threads: ${config.env.GENGUARD_ORT_THREADS || 'default'})`, rows);
}
