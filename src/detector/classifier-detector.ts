import path from 'node:path';
import type { DetectContext, Detector, DetectorOutcome } from './detector.js';
import type { ImageInput } from '../intake/image-input.js';
import type { ManifestModel } from './manifest.js';
import type { OnnxSessions } from './onnx/onnx-sessions.js';
import { preprocess } from './preprocess.js';
import { logitsOf, scoreOf } from './postprocess.js';
import { GenguardError } from '../errors/genguard-error.js';

/**
 * The shared pipeline for every ONNX image classifier in the manifest: the model is data
 * (file, preprocessing spec, postprocess); this class is the little code around it.
 */
export class ClassifierDetector implements Detector {
  readonly id: string;
  readonly weight: number;
  readonly #model: ManifestModel;
  readonly #file: string;
  readonly #sessions: OnnxSessions;

  constructor(options: { model: ManifestModel; manifestDir: string; sessions: OnnxSessions }) {
    if (!options.model.file) {
      throw new GenguardError('config_invalid', `manifest entry "${options.model.id}" needs a "file"`);
    }
    this.id = options.model.id;
    this.weight = options.model.weight;
    this.#model = options.model;
    this.#file = path.resolve(options.manifestDir, options.model.file);
    this.#sessions = options.sessions;
  }

  /** Loads the session ahead of the first image so start-up, not the first user, pays for it. */
  async warm(): Promise<void> {
    await this.#load();
  }

  async detect(_image: ImageInput, context: DetectContext): Promise<DetectorOutcome> {
    let loaded;
    try {
      loaded = await this.#load();
    } catch (error) {
      if (error instanceof GenguardError && error.code === 'model_missing') {
        return { status: 'abstain', code: 'model_missing', reason: `model file ${this.#file} is not installed` };
      }
      throw error;
    }
    const pixels = await requirePixels(context);
    const input = await preprocess(pixels, this.#model.preprocess);
    const output = await this.#sessions.run(loaded, input.data, input.dims);
    const logits = logitsOf(output, input.crops, this.#model.postprocess);
    return { status: 'ok', score: scoreOf(logits, this.#model.postprocess) };
  }

  /** Raw per-crop logits, for parity tests and calibration tooling. */
  async logits(context: DetectContext): Promise<number[]> {
    const loaded = await this.#load();
    const input = await preprocess(await requirePixels(context), this.#model.preprocess);
    return logitsOf(await this.#sessions.run(loaded, input.data, input.dims), input.crops, this.#model.postprocess);
  }

  #load() {
    return this.#sessions.load({
      file: this.#file,
      sha256: this.#model.sha256,
      inputName: this.#model.inputName,
      outputName: this.#model.outputName,
    });
  }
}

async function requirePixels(context: DetectContext) {
  if (!context.pixels) throw new GenguardError('internal', 'pixel detectors need decoded pixels in the context');
  return context.pixels();
}
