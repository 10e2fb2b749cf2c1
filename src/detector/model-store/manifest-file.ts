import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { GenguardError } from '../../errors/genguard-error.js';
import { manifestSchema } from '../manifest.js';

/** The manifest as JSON on disk: edited as plain objects so fields genguard does not know survive. */
export interface ManifestJson {
  version: string;
  models: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

/** Reads a manifest for editing; a file that does not exist yet is an empty manifest. */
export async function readManifestJson(file: string): Promise<ManifestJson> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { version: 'byo', models: [] };
    throw new GenguardError('config_invalid', `cannot read model manifest ${file}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new GenguardError('config_invalid', `model manifest ${file} is not valid JSON`, { cause });
  }
  const shape = z.looseObject({ version: z.string(), models: z.array(z.record(z.string(), z.unknown())) }).safeParse(json);
  if (!shape.success) throw new GenguardError('config_invalid', `model manifest ${file} is invalid: ${z.prettifyError(shape.error)}`);
  return shape.data as ManifestJson;
}

/** Replaces the entry with the same id, or appends it. */
export function upsertModel(manifest: ManifestJson, entry: Record<string, unknown>): ManifestJson {
  const models = manifest.models.filter((m) => m['id'] !== entry['id']);
  const at = manifest.models.findIndex((m) => m['id'] === entry['id']);
  models.splice(at < 0 ? models.length : at, 0, entry);
  return { ...manifest, models };
}

/**
 * Validates the whole manifest, then writes it atomically (temp file + rename in the same folder),
 * so a crash or a bad entry never leaves the bot with a half-written or invalid manifest.
 */
export async function writeManifestJson(file: string, manifest: ManifestJson): Promise<void> {
  const parsed = manifestSchema.safeParse(manifest);
  if (!parsed.success) {
    throw new GenguardError('config_invalid', `refusing to write an invalid manifest: ${z.prettifyError(parsed.error)}`);
  }
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new GenguardError('config_invalid', `cannot write model manifest ${file}`, { cause });
  }
}
