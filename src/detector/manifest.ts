import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { GenguardError } from '../errors/genguard-error.js';

/**
 * How an image becomes a model input. Applied in this order:
 * 1. resize (`none` keeps native resolution — NPR-style detectors are destroyed by resampling),
 * 2. crop (`center`: one crop; `grid`: up to `count` evenly spread crops whose scores are averaged;
 *    images smaller than the crop are zero-padded at the bottom/right when `pad` is true,
 *    otherwise resized up to the crop size),
 * 3. pixel values / `scale`, then (x − mean) / std per RGB channel, NCHW float32.
 * `sizeMultiple` trims width and height down to a multiple (NPR needs even sizes).
 *
 * `compat: "torchvision"` switches to the research models' own pipeline, torchvision.transforms
 * on a PIL image, reproduced to the bit (src/detector/methods/torchvision-preprocess.ts): resize
 * with Pillow's resampling (`shorter` truncates the long side as torchvision does), then the
 * `sizeMultiple` trim, then `center` crop = CenterCrop (smaller images padded with black pixels,
 * centred, before normalisation; offsets rounded half to even; `pad` is ignored), then ToTensor
 * and Normalize in float32. `grid` crops do not exist there.
 */
export const preprocessSchema = z.object({
  compat: z.enum(['genguard', 'torchvision']).default('genguard'),
  resize: z
    .object({
      mode: z.enum(['none', 'shorter', 'exact']),
      size: z.number().int().positive().optional(),
      kernel: z.enum(['nearest', 'linear', 'cubic', 'lanczos3']).default('linear'),
    })
    .default({ mode: 'none', kernel: 'linear' }),
  crop: z
    .object({
      mode: z.enum(['none', 'center', 'grid']),
      size: z.number().int().positive().optional(),
      count: z.number().int().positive().default(1),
      pad: z.boolean().default(true),
    })
    .default({ mode: 'none', count: 1, pad: true }),
  scale: z.number().positive().default(255),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
  sizeMultiple: z.number().int().positive().default(1),
});
export type PreprocessSpec = z.infer<typeof preprocessSchema>;

/** How raw model output becomes P(AI-generated), calibrated so that 0.5 means even odds. */
export const postprocessSchema = z.object({
  /** `sigmoid`: one logit; `softmax`: two logits, index `positiveIndex` is AI; `none`: already a probability. */
  activation: z.enum(['sigmoid', 'softmax', 'none']).default('sigmoid'),
  positiveIndex: z.number().int().nonnegative().default(1),
  /** Platt scaling on the logit: sigmoid(a · logit + b). Identity when absent. */
  platt: z.object({ a: z.number(), b: z.number() }).optional(),
  /** How crop scores are combined (on the calibrated logit when `logit`). */
  aggregate: z.enum(['mean_logit', 'mean_prob', 'max_prob']).default('mean_logit'),
});
export type PostprocessSpec = z.infer<typeof postprocessSchema>;

export const manifestModelSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  /** The pipeline that runs it: `classifier` (ONNX image classifier), `provenance` (metadata, no weights). */
  method: z.string(),
  /** Relative to the manifest's folder. Absent for methods that need no weights. */
  file: z.string().optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  weight: z.number().nonnegative().default(1),
  enabled: z.boolean().default(true),
  /** Opt-in slow members run on their own queue with this timeout. */
  slow: z.boolean().default(false),
  timeoutMs: z.number().int().positive().optional(),
  inputName: z.string().optional(),
  outputName: z.string().optional(),
  preprocess: preprocessSchema.default(preprocessSchema.parse({})),
  postprocess: postprocessSchema.default(postprocessSchema.parse({})),
  description: z.string().default(''),
  licence: z.string(),
  source: z.string(),
  /**
   * Further weight files a method needs besides `file`, each with a role the method knows
   * (AEROBLADE: one ONNX graph per autoencoder). Checked by `genguard models verify` like `file`.
   */
  files: z
    .array(
      z.object({
        role: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/),
        file: z.string(),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
      }),
    )
    .default([]),
  /** Method-specific settings (thresholds, AE list, …). */
  options: z.record(z.string(), z.unknown()).default({}),
});
export type ManifestModel = z.infer<typeof manifestModelSchema>;

export const manifestSchema = z.object({
  /** Bumped whenever the model set changes so cached verdicts of older sets are not reused. */
  version: z.string(),
  models: z.array(manifestModelSchema),
});
export type Manifest = z.infer<typeof manifestSchema> & { dir: string; path: string };

export async function loadManifest(manifestPath: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new GenguardError('config_invalid', `cannot read model manifest ${manifestPath}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new GenguardError('config_invalid', `model manifest ${manifestPath} is not valid JSON`, { cause });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new GenguardError('config_invalid', `model manifest ${manifestPath} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  const ids = new Set<string>();
  for (const model of parsed.data.models) {
    if (ids.has(model.id)) throw new GenguardError('config_invalid', `model manifest lists "${model.id}" twice`);
    ids.add(model.id);
  }
  return { ...parsed.data, dir: path.dirname(path.resolve(manifestPath)), path: path.resolve(manifestPath) };
}
