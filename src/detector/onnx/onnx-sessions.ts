import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { GenguardError } from '../../errors/genguard-error.js';

export interface OnnxSessionsOptions {
  /** Intra-op threads per session; 0 lets onnxruntime pick (one per core). */
  intraOpThreads?: number;
}

export interface LoadedModel {
  file: string;
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
}

export interface ModelRef {
  file: string;
  sha256?: string | undefined;
  inputName?: string | undefined;
  outputName?: string | undefined;
}

/**
 * The one owner of onnxruntime-node. Sessions are created once per file and reused; concurrent
 * first callers share one creation. Checksums are verified before a file reaches onnxruntime, so a
 * corrupt or swapped model is a clear `model_invalid` rather than an opaque native error.
 */
export class OnnxSessions {
  readonly #options: OnnxSessionsOptions;
  readonly #sessions = new Map<string, Promise<LoadedModel>>();

  constructor(options: OnnxSessionsOptions = {}) {
    this.#options = options;
  }

  load(ref: ModelRef): Promise<LoadedModel> {
    const key = [ref.file, ref.sha256 ?? '', ref.inputName ?? '', ref.outputName ?? ''].join('\0');
    let pending = this.#sessions.get(key);
    if (!pending) {
      pending = this.#create(ref);
      // A failed load must not poison the cache: the operator may fix the file and retry.
      pending.catch(() => this.#sessions.delete(key));
      this.#sessions.set(key, pending);
    }
    return pending;
  }

  async run(model: LoadedModel, data: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    return this.runFeeds(model, { [model.inputName]: { data, dims } });
  }

  /** Like `run`, for models with several inputs (AEROBLADE: image and noise), given by name. */
  async runFeeds(model: LoadedModel, feeds: Record<string, { data: Float32Array; dims: readonly number[] }>): Promise<Float32Array> {
    let output: ort.InferenceSession.ReturnType;
    try {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', feed.data, feed.dims);
      output = await model.session.run(tensors);
    } catch (cause) {
      throw new GenguardError('inference_failed', `inference failed for ${model.file}: ${messageOf(cause)}`, { cause });
    }
    const out = output[model.outputName];
    if (!out || out.type !== 'float32') {
      throw new GenguardError('inference_failed', `model ${model.file} produced no float32 output "${model.outputName}"`);
    }
    return out.data as Float32Array;
  }

  async close(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.session.release()));
  }

  async #create(ref: ModelRef): Promise<LoadedModel> {
    let bytes: Buffer;
    try {
      bytes = await readFile(ref.file);
    } catch (cause) {
      const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
      throw new GenguardError(missing ? 'model_missing' : 'model_invalid', `cannot read model file ${ref.file}`, { cause });
    }
    if (ref.sha256) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== ref.sha256) {
        throw new GenguardError('model_invalid', `checksum mismatch for ${ref.file}: expected ${ref.sha256}, got ${actual}`);
      }
    }
    let session: ort.InferenceSession;
    try {
      const threads = this.#options.intraOpThreads ?? 0;
      session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
      });
    } catch (cause) {
      throw new GenguardError('model_invalid', `onnxruntime cannot load ${ref.file}: ${messageOf(cause)}`, { cause });
    }
    const inputName = pickName('input', session.inputNames, ref.inputName, ref.file);
    const outputName = pickName('output', session.outputNames, ref.outputName, ref.file);
    return { file: ref.file, session, inputName, outputName };
  }
}

function pickName(kind: string, available: readonly string[], wanted: string | undefined, file: string): string {
  if (wanted !== undefined) {
    if (available.includes(wanted)) return wanted;
    throw new GenguardError(
      'model_input_mismatch',
      `model ${file} has no ${kind} named "${wanted}" (it has: ${available.join(', ') || 'none'})`,
    );
  }
  const first = available[0];
  if (available.length !== 1 || first === undefined) {
    throw new GenguardError(
      'model_input_mismatch',
      `model ${file} has ${available.length} ${kind}s (${available.join(', ')}); name the one to use in the manifest`,
    );
  }
  return first;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
