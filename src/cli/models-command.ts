import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../config/load-config.js';
import { loadManifest, manifestModelSchema, type ManifestModel } from '../detector/manifest.js';
import { BYO_PRESETS } from '../detector/model-store/byo-presets.js';
import { copyModel, downloadModel } from '../detector/model-store/fetch-model.js';
import { readManifestJson, upsertModel, writeManifestJson } from '../detector/model-store/manifest-file.js';
import { checkFile, exists, filesOf, type FileState } from '../detector/model-store/model-files.js';
import { GenguardError } from '../errors/genguard-error.js';

interface AddOptions {
  id?: string;
  sha256?: string;
  method?: string;
  role?: string;
  entry?: string;
  licence?: string;
  source?: string;
  disable?: boolean;
  json?: boolean;
}

/**
 * `genguard models list | verify | add`: what is installed and under which licence, whether the
 * files are the ones the manifest pins, and adding a model file from a path or a URL (URLs only
 * with a checksum). The manifest is GENGUARD_MODELS_MANIFEST or models/manifest.json.
 */
export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('list, verify and add detector models (including your own research weights)');

  models
    .command('list')
    .description('list the manifest models, whether their files are installed, and their licences')
    .option('--json', 'one JSON object per model per line')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const manifest = await loadManifest(config.manifestPath);
      if (!opts.json) console.log(`manifest ${manifest.path} (version ${manifest.version})`);
      for (const model of manifest.models) {
        const files = await Promise.all(
          filesOf(model, manifest.dir).map(async (f) => ({ role: f.role, file: f.file, installed: await exists(f.absolute) })),
        );
        if (opts.json) {
          console.log(JSON.stringify({ id: model.id, method: model.method, enabled: model.enabled, slow: model.slow, files, licence: model.licence, source: model.source }));
          continue;
        }
        const state =
          files.length === 0
            ? 'no weights'
            : files.every((f) => f.installed)
              ? 'installed'
              : `missing ${files.filter((f) => !f.installed).map((f) => f.file).join(', ')}`;
        const flags = [model.enabled ? 'enabled' : 'disabled', ...(model.slow ? ['slow'] : [])].join(',');
        console.log(`${model.id.padEnd(22)} ${model.method.padEnd(11)} ${flags.padEnd(13)} ${state}`);
        console.log(`${''.padEnd(22)} licence: ${model.licence}`);
      }
    });

  models
    .command('verify')
    .description('check every model file against the SHA-256 the manifest pins (exit code 1 on a missing or changed file)')
    .argument('[ids...]', 'only these models')
    .option('--json', 'one JSON object per file per line')
    .action(async (ids: string[], opts: { json?: boolean }) => {
      const config = loadConfig();
      const manifest = await loadManifest(config.manifestPath);
      const unknown = ids.filter((id) => !manifest.models.some((m) => m.id === id));
      if (unknown.length > 0) throw new GenguardError('usage', `unknown model id(s): ${unknown.join(', ')}`);
      let bad = 0;
      for (const model of manifest.models.filter((m) => ids.length === 0 || ids.includes(m.id))) {
        for (const ref of filesOf(model, manifest.dir)) {
          const state = await checkFile(ref);
          if (state.status === 'missing' || state.status === 'mismatch') bad++;
          console.log(opts.json ? JSON.stringify({ id: model.id, role: ref.role, file: ref.file, ...state }) : verifyLine(model, ref.file, state));
        }
      }
      if (bad > 0) process.exitCode = 1;
    });

  models
    .command('add')
    .description('install a model file (path or URL) and record it in the manifest')
    .argument('<file-or-url>', 'an ONNX file exported by tools/export/*.py, or an http(s) URL of one')
    .option('--id <id>', `manifest id; known presets: ${Object.keys(BYO_PRESETS).join(', ')}`)
    .option('--sha256 <hex>', 'expected SHA-256 (required for URLs)')
    .option('--method <method>', 'pipeline for a new id (e.g. classifier)')
    .option('--role <role>', 'for methods with several files (aeroblade: sd1, sd2, kd21)')
    .option('--entry <json>', 'a manifest entry as printed by tools/export/*.py (preprocessing, licence, …)')
    .option('--licence <text>', 'licence of the weights (shown by `models list`)')
    .option('--source <text>', 'where the weights come from')
    .option('--disable', 'add it disabled (runs only when named with --models or GENGUARD_MODELS)')
    .option('--json', 'print the resulting entry as JSON')
    .action(async (source: string, opts: AddOptions) => {
      const config = loadConfig();
      const model = await addModel(config.manifestPath, source, opts);
      if (opts.json) {
        console.log(JSON.stringify(model));
        return;
      }
      const files = model.files.length > 0 ? model.files.map((f) => `${f.role}=${f.file}`).join(', ') : model.file;
      console.log(`added ${model.id} (${model.method}) → ${files}`);
      console.log(`  licence: ${model.licence}`);
      if (/\bNC\b|non-commercial/i.test(model.licence)) console.log('  note: these weights are licensed for non-commercial use only');
      if (!model.enabled || model.slow) {
        console.log(`  not in the default ensemble (${model.enabled ? 'slow' : 'disabled'}): run it with --models ${model.id}`);
      }
    });
}

function verifyLine(model: ManifestModel, file: string, state: FileState): string {
  const head = `${model.id.padEnd(22)} ${file}`;
  switch (state.status) {
    case 'ok':
      return `${head}: ok`;
    case 'missing':
      return `${head}: MISSING (the member abstains with model_missing)`;
    case 'unpinned':
      return `${head}: present, no checksum in the manifest (sha256 ${state.sha256})`;
    case 'mismatch':
      return `${head}: CHANGED (sha256 ${state.sha256}, manifest expects ${state.expected})`;
  }
}

/** The work behind `models add`; returns the entry as written. */
export async function addModel(manifestPath: string, source: string, opts: AddOptions): Promise<ManifestModel> {
  const sha256 = opts.sha256?.toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new GenguardError('usage', '--sha256 must be 64 hex digits');
  const isUrl = /^https?:\/\//i.test(source);
  if (isUrl && !sha256) {
    throw new GenguardError('usage', 'refusing to download a model without --sha256: pass the checksum published with the file');
  }
  const manifest = await readManifestJson(manifestPath);
  const dir = path.dirname(path.resolve(manifestPath));
  const entry = await resolveEntry(manifest.models, source, opts);
  const id = String(entry['id']);
  const method = String(entry['method']);
  const roles = BYO_PRESETS[id]?.roles;
  const role = opts.role;
  if (method === 'aeroblade' && !role) {
    throw new GenguardError('usage', `"${id}" needs one file per autoencoder: pass --role (${(roles ?? ['sd1', 'sd2', 'kd21']).join(', ')})`);
  }
  if (role !== undefined && !/^[a-z0-9][a-z0-9_.-]*$/.test(role)) throw new GenguardError('usage', `invalid --role "${role}"`);

  const dest = isUrl || !isInside(dir, source) ? path.join(dir, 'byo', `${id}${role ? `-${role}` : ''}.onnx`) : path.resolve(source);
  let actual: string;
  if (isUrl) {
    await downloadModel(source, dest, { sha256: sha256! });
    actual = sha256!;
  } else {
    actual = (await copyModel(path.resolve(source), dest, sha256)).sha256;
  }
  const file = path.relative(dir, dest).split(path.sep).join('/');
  if (role) {
    const files = (Array.isArray(entry['files']) ? (entry['files'] as Array<Record<string, unknown>>) : []).filter((f) => f['role'] !== role);
    entry['files'] = [...files, { role, file, sha256: actual }];
  } else {
    entry['file'] = file;
    entry['sha256'] = actual;
  }
  if (opts.disable) entry['enabled'] = false;
  const parsed = manifestModelSchema.safeParse(entry);
  if (!parsed.success) throw new GenguardError('config_invalid', `the entry for "${id}" is invalid: ${z.prettifyError(parsed.error)}`);
  await writeManifestJson(manifestPath, upsertModel(manifest, entry));
  return parsed.data;
}

async function resolveEntry(models: Array<Record<string, unknown>>, source: string, opts: AddOptions): Promise<Record<string, unknown>> {
  let entry: Record<string, unknown> | undefined;
  if (opts.entry) {
    try {
      entry = JSON.parse(await readFile(opts.entry, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new GenguardError('usage', `cannot read the entry JSON ${opts.entry}`, { cause });
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new GenguardError('usage', `${opts.entry} is not one JSON object`);
  }
  const id = opts.id ?? (entry?.['id'] as string | undefined);
  if (!id) throw new GenguardError('usage', 'name the model with --id (or pass --entry with an id)');
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(id)) throw new GenguardError('usage', `invalid model id "${id}"`);
  const existing = models.find((m) => m['id'] === id);
  const preset = BYO_PRESETS[id]?.entry;
  if (!entry && existing) entry = structuredClone(existing);
  if (!entry && preset) entry = structuredClone(preset);
  if (!entry) {
    if (!opts.method) {
      throw new GenguardError(
        'usage',
        `"${id}" is neither in the manifest nor a preset (${Object.keys(BYO_PRESETS).join(', ')}): pass --method, or --entry with the JSON tools/export printed`,
      );
    }
    entry = { method: opts.method, licence: 'unknown: not stated when the model was added', source };
  }
  entry = { ...entry, id };
  if (opts.method) entry['method'] = opts.method;
  if (opts.licence) entry['licence'] = opts.licence;
  if (opts.source) entry['source'] = opts.source;
  return entry;
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
