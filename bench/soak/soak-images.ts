import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { Prng } from '../../test/fuzz/prng.js';
import { syntheticImage } from '../../test/queue/helpers/fakes.js';

/**
 * The soak's pictures: real photos and generated images from ../shared/datasets/train (or
 * synthetic ones when that folder is absent), each in up to eight orientations (mirror, flip,
 * rotations), so 10 000 jobs get 10 000 different pictures (different bytes and perceptual hash).
 * They are written to a temp folder before the clock starts and served from disk, so the soak
 * process holds none of them in memory (its RSS is what the worker costs).
 */

const DATASET_DIRS = ['train/real/imagenet', 'train/real/denoising', 'train/real/metadata-extractor', 'train/real/exif-samples', 'train/ai/gpt4o-cases', 'train/ai/nano-banana', 'train/ai/comfyui', 'train/ai/sd-cheatsheet'];
const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;

type Orient = (s: Sharp) => Sharp;
const ORIENTATIONS: Orient[] = [
  (s) => s,
  (s) => s.flop(),
  (s) => s.flip(),
  (s) => s.rotate(180),
  (s) => s.rotate(90),
  (s) => s.rotate(270),
  (s) => s.rotate(90).flop(),
  (s) => s.rotate(270).flop(),
];

async function listSources(): Promise<string[]> {
  const root = path.resolve(PACKAGE_ROOT, '../shared/datasets');
  const files: string[] = [];
  for (const dir of DATASET_DIRS) {
    const full = path.join(root, dir);
    const names = await readdir(full).catch(() => [] as string[]);
    for (const name of names.sort()) if (IMAGE_FILE.test(name)) files.push(path.join(full, name));
  }
  // A fixed shuffle, so a short run sees the same mix of sources as a long one.
  const random = new Prng(0x50a4);
  for (let i = files.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  return files;
}

export interface SoakImages {
  /** URL of picture `i` (0 ≤ i < count). */
  url(i: number): string;
  count: number;
  /** Where the pictures came from, for the report. */
  source: string;
  bytesOnDisk: number;
  close(): Promise<void>;
}

/** Writes `count` distinct pictures to a temp folder and serves them on 127.0.0.1. */
export async function prepareSoakImages(count: number, log: (line: string) => void = () => {}): Promise<SoakImages> {
  const dir = path.join(os.tmpdir(), `genguard-soak-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const sources = await listSources();
  const names: string[] = [];
  let bytesOnDisk = 0;
  const started = Date.now();
  for (let start = 0; start < count; start += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, count - start) }, async (_, k) => {
        const i = start + k;
        let bytes: Buffer;
        let ext: string;
        if (sources.length > 0) {
          const file = sources[i % sources.length]!;
          const orient = ORIENTATIONS[Math.floor(i / sources.length) % ORIENTATIONS.length]!;
          // JPEG for photos and large pictures (what chat apps carry most, and fast to encode), PNG for small ones.
          const meta = await sharp(file).metadata();
          const jpeg = /\.jpe?g$/i.test(file) || Math.max(meta.width ?? 0, meta.height ?? 0) > 512;
          bytes = await (jpeg ? orient(sharp(file).rotate()).jpeg({ quality: 92 }) : orient(sharp(file).rotate()).png()).toBuffer();
          ext = jpeg ? 'jpg' : 'png';
        } else {
          bytes = await syntheticImage(1_000 + i, 256, 192);
          ext = 'png';
        }
        const name = `${i}.${ext}`;
        names[i] = name;
        bytesOnDisk += bytes.length;
        await writeFile(path.join(dir, name), bytes);
      }),
    );
    if (start % 2_000 === 0 && start > 0) log(`  prepared ${start}/${count} pictures (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  const server: Server = createServer((req, res) => {
    const name = path.basename(req.url ?? '');
    const file = path.join(dir, name);
    stat(file).then(
      (info) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(info.size) });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    count,
    bytesOnDisk,
    source: sources.length > 0 ? `${sources.length} files of ../shared/datasets/train in ${Math.min(ORIENTATIONS.length, Math.ceil(count / sources.length))} orientations` : 'synthetic pictures (../shared absent)',
    url: (i) => `${base}/${names[i]}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
