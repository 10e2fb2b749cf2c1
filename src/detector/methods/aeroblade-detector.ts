import path from 'node:path';
import { z } from 'zod';
import { GenguardError } from '../../errors/genguard-error.js';
import type { ImageInput } from '../../intake/image-input.js';
import type { DetectContext, Detector, DetectorOutcome } from '../detector.js';
import type { ManifestModel } from '../manifest.js';
import type { LoadedModel, OnnxSessions } from '../onnx/onnx-sessions.js';
import { scoreOf } from '../postprocess.js';
import { preprocess } from '../preprocess.js';
import { torchRandn } from './torch-randn.js';

/**
 * `options` of an `aeroblade` manifest entry. The distance d (LPIPS-VGG layer 2, lower = closer
 * to what a latent-diffusion autoencoder produces) becomes the logit (center − d) / scale, then
 * goes through the entry's postprocess (sigmoid, optional Platt) like any classifier logit:
 * score = 1 / (1 + exp((d − center) / scale)). `center` is the distance scored 0.5, `scale` how
 * fast the score moves; fit both on labelled images with tools/export/aeroblade.py --calibrate.
 */
export const aerobladeOptionsSchema = z.object({
  /** torch.Generator().manual_seed(seed) of the official code (aeroblade/image.py uses 1). */
  seed: z.number().int().nonnegative().default(1),
  latentChannels: z.number().int().positive().default(4),
  /** Spatial reduction of the autoencoders; images are trimmed to a multiple of it. */
  latentFactor: z.number().int().positive().default(8),
  /** Larger images abstain: every autoencoder round trip costs seconds per 256×256 on a CPU. */
  maxPixels: z.number().int().positive().default(512 * 512),
  calibration: z.object({ center: z.number(), scale: z.number().positive() }).default({ center: 0.025, scale: 0.005 }),
  imageInput: z.string().default('image'),
  noiseInput: z.string().default('noise'),
  outputName: z.string().default('distance'),
});
export type AerobladeOptions = z.infer<typeof aerobladeOptionsSchema>;

type Abstain = Extract<DetectorOutcome, { status: 'abstain' }>;

interface Autoencoder {
  role: string;
  file: string;
  sha256: string | undefined;
}

/**
 * AEROBLADE (Ricker et al., CVPR 2024): reconstruct the image with each configured latent-diffusion
 * autoencoder and measure how close the reconstruction is; generated images sit closer. Each
 * autoencoder is one ONNX graph (image [, noise] → distance) from tools/export/aeroblade.py, listed
 * in the entry's `files`; the member's distance is the smallest over them.
 */
export class AerobladeDetector implements Detector {
  readonly id: string;
  readonly weight: number;
  readonly #model: ManifestModel;
  readonly #options: AerobladeOptions;
  readonly #aes: Autoencoder[];
  readonly #sessions: OnnxSessions;

  constructor(options: { model: ManifestModel; manifestDir: string; sessions: OnnxSessions }) {
    const { model } = options;
    const parsed = aerobladeOptionsSchema.safeParse(model.options);
    if (!parsed.success) {
      throw new GenguardError('config_invalid', `manifest entry "${model.id}" has invalid options: ${z.prettifyError(parsed.error)}`);
    }
    const files = model.files.length > 0 ? model.files : model.file ? [{ role: 'ae', file: model.file, sha256: model.sha256 }] : [];
    if (files.length === 0) {
      throw new GenguardError('config_invalid', `manifest entry "${model.id}" lists no autoencoder graphs in "files"`);
    }
    this.id = model.id;
    this.weight = model.weight;
    this.#model = model;
    this.#options = parsed.data;
    this.#aes = files.map((f) => ({ role: f.role, file: path.resolve(options.manifestDir, f.file), sha256: f.sha256 }));
    this.#sessions = options.sessions;
  }

  async warm(): Promise<void> {
    await Promise.all(this.#aes.map((ae) => this.#load(ae)));
  }

  async detect(_image: ImageInput, context: DetectContext): Promise<DetectorOutcome> {
    const result = await this.#distances(context);
    if ('abstain' in result) return result.abstain;
    const [role, d] = Object.entries(result.distances).reduce((a, b) => (b[1] < a[1] ? b : a));
    const { center, scale } = this.#options.calibration;
    const score = scoreOf([(center - d) / scale], this.#model.postprocess);
    return { status: 'ok', score, evidence: [`reconstruction distance ${d.toFixed(5)} (${role})`] };
  }

  /** Distance per autoencoder role, for parity tests and calibration. */
  async distances(context: DetectContext): Promise<Record<string, number>> {
    const result = await this.#distances(context);
    if ('abstain' in result) throw new GenguardError('inference_failed', result.abstain.reason);
    return result.distances;
  }

  async #distances(context: DetectContext): Promise<{ distances: Record<string, number> } | { abstain: Abstain }> {
    const loaded: Array<[Autoencoder, LoadedModel]> = [];
    for (const ae of this.#aes) {
      try {
        loaded.push([ae, await this.#load(ae)]);
      } catch (error) {
        if (error instanceof GenguardError && error.code === 'model_missing') {
          return { abstain: { status: 'abstain', code: 'model_missing', reason: `autoencoder "${ae.role}" (${ae.file}) is not installed` } };
        }
        throw error;
      }
    }
    if (!context.pixels) throw new GenguardError('internal', 'pixel detectors need decoded pixels in the context');
    const pixels = await context.pixels();
    const { latentFactor: f, latentChannels, maxPixels, seed } = this.#options;
    if (pixels.width * pixels.height > maxPixels) {
      return {
        abstain: {
          status: 'abstain',
          code: 'too_many_pixels',
          reason: `${pixels.width}×${pixels.height} is above this member's ${maxPixels}-pixel limit (options.maxPixels)`,
        },
      };
    }
    const lh = Math.floor(pixels.height / f);
    const lw = Math.floor(pixels.width / f);
    if (lh * lw * latentChannels < 16) {
      return { abstain: { status: 'abstain', code: 'too_small', reason: `${pixels.width}×${pixels.height} is too small to reconstruct` } };
    }
    const input = await preprocess(pixels, { ...this.#model.preprocess, sizeMultiple: f });
    const image = { data: input.data, dims: input.dims };
    const noise = { data: torchRandn(seed, latentChannels * lh * lw), dims: [1, latentChannels, lh, lw] };
    const distances: Record<string, number> = {};
    for (const [ae, model] of loaded) {
      context.signal?.throwIfAborted();
      const feeds = model.session.inputNames.includes(this.#options.noiseInput)
        ? { [this.#options.imageInput]: image, [this.#options.noiseInput]: noise }
        : { [this.#options.imageInput]: image };
      const out = await this.#sessions.runFeeds(model, feeds);
      const d = out[0];
      if (d === undefined || !Number.isFinite(d)) {
        throw new GenguardError('inference_failed', `autoencoder "${ae.role}" produced no finite distance`);
      }
      distances[ae.role] = d;
    }
    return { distances };
  }

  #load(ae: Autoencoder) {
    return this.#sessions.load({
      file: ae.file,
      sha256: ae.sha256,
      inputName: this.#options.imageInput,
      outputName: this.#options.outputName,
    });
  }
}
