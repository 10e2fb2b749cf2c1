import { GenguardError } from '../errors/genguard-error.js';
import type { PostprocessSpec } from './manifest.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Per-crop raw logits from a model output of `crops` rows. */
export function logitsOf(output: Float32Array, crops: number, spec: PostprocessSpec): number[] {
  const perRow = output.length / crops;
  if (!Number.isInteger(perRow) || perRow < 1) {
    throw new GenguardError('inference_failed', `model output of length ${output.length} does not fit ${crops} crops`);
  }
  const logits: number[] = [];
  for (let i = 0; i < crops; i++) {
    const row = output.subarray(i * perRow, (i + 1) * perRow);
    switch (spec.activation) {
      case 'sigmoid':
        logits.push(at(row, 0));
        break;
      case 'softmax':
        // Two-class softmax is the sigmoid of the logit difference.
        logits.push(at(row, spec.positiveIndex) - at(row, 1 - Math.min(1, spec.positiveIndex)));
        break;
      case 'none': {
        const p = Math.min(1 - 1e-7, Math.max(1e-7, at(row, 0)));
        logits.push(Math.log(p / (1 - p)));
        break;
      }
    }
  }
  return logits;
}

/** Calibrated P(AI-generated) from per-crop raw logits. */
export function scoreOf(logits: number[], spec: PostprocessSpec): number {
  if (logits.length === 0) throw new GenguardError('inference_failed', 'model produced no logits');
  const a = spec.platt?.a ?? 1;
  const b = spec.platt?.b ?? 0;
  const calibrated = logits.map((l) => a * l + b);
  let score: number;
  switch (spec.aggregate) {
    case 'mean_logit':
      score = sigmoid(calibrated.reduce((s, x) => s + x, 0) / calibrated.length);
      break;
    case 'mean_prob':
      score = calibrated.reduce((s, x) => s + sigmoid(x), 0) / calibrated.length;
      break;
    case 'max_prob':
      score = Math.max(...calibrated.map(sigmoid));
      break;
  }
  if (!Number.isFinite(score)) throw new GenguardError('inference_failed', 'model produced a non-finite score');
  return score;
}

function at(row: Float32Array, i: number): number {
  const v = row[i];
  if (v === undefined) throw new GenguardError('inference_failed', `model output has no index ${i}`);
  return v;
}
