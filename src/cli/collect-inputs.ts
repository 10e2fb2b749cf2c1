import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { sniffFormat } from '../intake/sniff-format.js';

export interface CollectedInput {
  /** The argument as given, or the path inside a directory. */
  file: string;
  /** What to hand to the image loader: a path or a URL. */
  source: string;
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|avif|bmp|tiff?)$/i;

/**
 * Expands CLI arguments: URLs and files pass through as given (so a bad one is reported), and
 * directories are walked recursively in a stable order. Inside a directory, only files that look
 * like images (by extension or magic bytes) are taken, so a stray labels.tsv is not an "error".
 */
export async function collectInputs(args: string[]): Promise<{ inputs: CollectedInput[]; skipped: string[] }> {
  const inputs: CollectedInput[] = [];
  const skipped: string[] = [];
  for (const arg of args) {
    if (/^https?:\/\//i.test(arg)) {
      inputs.push({ file: arg, source: arg });
      continue;
    }
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) await walk(arg, inputs, skipped);
    else inputs.push({ file: arg, source: arg });
  }
  return { inputs, skipped };
}

async function walk(dir: string, inputs: CollectedInput[], skipped: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, inputs, skipped);
    else if (entry.isFile()) {
      if (IMAGE_EXT.test(entry.name) || (await looksLikeImage(full))) inputs.push({ file: full, source: full });
      else skipped.push(full);
    }
  }
}

async function looksLikeImage(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buf, 0, 64, 0);
    return sniffFormat(buf.subarray(0, bytesRead)) !== undefined;
  } finally {
    await handle.close();
  }
}
