/**
 * Intake, decode, per-model and whole-ensemble latency on generated JPEGs of 1, 4 and 12 MP.
 * `npm run bench -- --only detect [--runs N]`.
 */
import sharp from 'sharp';
import { loadConfig } from '../src/config/load-config.js';
import { createLocalEnsemble } from '../src/detector/create-local-ensemble.js';
import { loadManifest } from '../src/detector/manifest.js';
import { decodeRgb } from '../src/intake/decode-rgb.js';
import { ImageLoader } from '../src/intake/image-loader.js';
import { measure, printTimings, type Timing } from './lib/measure.js';

const SIZES: Array<[string, number, number]> = [
  ['1MP', 1280, 800],
  ['4MP', 2560, 1600],
  ['12MP', 4000, 3000],
];

/** A photo-like test image: smooth gradients plus noise, so JPEG sizes are realistic. */
export async function syntheticJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const small = Buffer.alloc(64 * 48 * 3);
  let s = seed;
  for (let i = 0; i < small.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    small[i] = (i % 3) * 60 + (s % 90);
  }
  const base = sharp(small, { raw: { width: 64, height: 48, channels: 3 } }).resize(width, height, { kernel: 'cubic' });
  const noise = await sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 12 } } })
    .raw()
    .toBuffer();
  const composed = await base.raw().toBuffer();
  for (let i = 0; i < composed.length; i++) composed[i] = Math.max(0, Math.min(255, composed[i]! + noise[i]! - 128));
  return sharp(composed, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

export async function run(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 15;
  const config = loadConfig();
  const manifest = await loadManifest(config.manifestPath);
  const loader = new ImageLoader({ limits: config.intake });
  const ensemble = await createLocalEnsemble(config, { manifest, warm: true });
  const single = new Map(
    await Promise.all(
      ensemble.memberIds.map(async (id) => [id, await createLocalEnsemble(config, { manifest, only: [id], warm: true })] as const),
    ),
  );
  const rows: Timing[] = [];
  for (const [label, w, h] of SIZES) {
    const jpeg = await syntheticJpeg(w, h);
    console.log(`${label}: ${w}×${h} JPEG, ${(jpeg.length / 1e6).toFixed(2)} MB`);
    const image = await loader.fromBytes(jpeg, label);
    rows.push(await measure(`${label} intake (sniff + header)`, () => loader.fromBytes(jpeg, label), { runs }));
    rows.push(await measure(`${label} decode`, () => decodeRgb(image, { maxPixels: config.intake.maxPixels }), { runs }));
    for (const [id, member] of single) {
      // Per-model time includes its own decode (members share one decode inside the ensemble).
      // A member that abstains on a synthetic image (provenance: no metadata) is still timed.
      const timed = () => member.detect(image).catch((e: unknown) => {
        if ((e as { code?: string }).code !== 'no_model_succeeded') throw e;
      });
      rows.push(await measure(`${label} ${id} (incl. decode)`, timed, { runs }));
    }
    rows.push(await measure(`${label} whole ensemble (intake + decode + all models)`, async () => ensemble.detect(await loader.fromBytes(jpeg, label)), { runs }));
  }
  printTimings(`detection latency, ${runs} runs each (median and p95)`, rows);
  const rss = process.memoryUsage().rss;
  console.log(`peak-ish RSS after the runs: ${(rss / 2 ** 20).toFixed(0)} MB (resourceUsage maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`);
  await Promise.all([...single.values()].map((m) => m.close()));
  await ensemble.close();
  await loader.close();
}
