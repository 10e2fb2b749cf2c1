/**
 * The one result shape every backend returns: the `data` object of Bijou's `/api/detect`
 * (../shared/specs/bijou-detect.md), plus optional genguard fields that consumers may ignore.
 */
export type Prediction = 'ai' | 'real' | 'uncertain';
export type Verdict = 'ai_generated' | 'likely_real' | 'uncertain';

export interface ModelResult {
  /** P(AI-generated) in [0, 1]. */
  score: number;
  latency_ms: number;
}

/** Why a member of the ensemble did not contribute a score. */
export interface MemberNote {
  status: 'abstained' | 'failed';
  code: string;
  reason: string;
}

export interface DetectionResult {
  prediction: Prediction;
  /** Probability of the predicted label: score for `ai` and `uncertain`, 1 − score for `real`. */
  confidence: number;
  /** Weighted mean of the members that answered, P(AI-generated). */
  ensemble_score: number;
  verdict: Verdict;
  models_succeeded: number;
  models_total: number;
  model_results: Record<string, ModelResult>;
  detection_latency_ms: number;
  /** genguard extension: members that abstained or failed, and why. */
  model_notes?: Record<string, MemberNote>;
  /** genguard extension: human-readable evidence (provenance markers and the like). */
  evidence?: string[];
  /** genguard extension: which backends answered (local, bitmind, bijou). */
  backends?: string[];
  /** genguard extension: remarks such as "downscaled to fit the remote's 10 MB limit". */
  notes?: string[];
}

export interface Bands {
  /** Scores at or above this are `ai` / `ai_generated`. */
  ai: number;
  /** Scores at or above this (and below `ai`) are `uncertain`. */
  uncertain: number;
}

export const DEFAULT_BANDS: Bands = { ai: 0.7, uncertain: 0.4 };

export function classify(score: number, bands: Bands = DEFAULT_BANDS): {
  prediction: Prediction;
  verdict: Verdict;
  confidence: number;
} {
  if (score >= bands.ai) return { prediction: 'ai', verdict: 'ai_generated', confidence: score };
  if (score >= bands.uncertain) return { prediction: 'uncertain', verdict: 'uncertain', confidence: score };
  return { prediction: 'real', verdict: 'likely_real', confidence: 1 - score };
}

/** Rounds for display and JSON without hiding differences that matter at the band edges. */
export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
