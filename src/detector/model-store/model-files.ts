import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestModel } from '../manifest.js';

export interface ModelFileRef {
  /** `model` for the entry's `file`, else the role in `files`. */
  role: string;
  /** As written in the manifest (relative to its folder). */
  file: string;
  absolute: string;
  sha256: string | undefined;
}

export type FileState =
  | { status: 'ok'; bytes: number; sha256: string }
  /** Present, but the manifest pins no checksum. */
  | { status: 'unpinned'; bytes: number; sha256: string }
  | { status: 'missing' }
  | { status: 'mismatch'; bytes: number; sha256: string; expected: string };

/** Every weight file an entry needs: `file` plus `files` (AEROBLADE's autoencoders). */
export function filesOf(model: ManifestModel, manifestDir: string): ModelFileRef[] {
  const refs: ModelFileRef[] = [];
  if (model.file) refs.push({ role: 'model', file: model.file, absolute: path.resolve(manifestDir, model.file), sha256: model.sha256 });
  for (const f of model.files) {
    refs.push({ role: f.role, file: f.file, absolute: path.resolve(manifestDir, f.file), sha256: f.sha256 });
  }
  return refs;
}

export async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Streams the file through SHA-256 (model files run to gigabytes). */
export async function sha256File(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export async function checkFile(ref: ModelFileRef): Promise<FileState> {
  if (!(await exists(ref.absolute))) return { status: 'missing' };
  const { sha256, bytes } = await sha256File(ref.absolute);
  if (!ref.sha256) return { status: 'unpinned', bytes, sha256 };
  if (ref.sha256 !== sha256) return { status: 'mismatch', bytes, sha256, expected: ref.sha256 };
  return { status: 'ok', bytes, sha256 };
}
