import { percentile } from './percentile.js';

export interface Scored {
  label: 0 | 1; // 1 = AI-generated
  score: number;
}

/** ROC AUC by the rank-sum (Mann–Whitney U) formula, ties counted as half. NaN without both classes. */
export function rocAuc(items: Scored[]): number {
  const pos = items.filter((i) => i.label === 1).length;
  const neg = items.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let rankSumPos = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (sorted[k]!.label === 1) rankSumPos += avgRank;
    i = j;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface CutoffStats {
  cutoff: number;
  accuracy: number;
  balanced_accuracy: number;
  tpr: number;
  fpr: number;
}

export function atCutoff(items: Scored[], cutoff: number): CutoffStats {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (const { label, score } of items) {
    const flagged = score >= cutoff;
    if (label === 1) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  const tpr = tp + fn > 0 ? tp / (tp + fn) : Number.NaN;
  const tnr = tn + fp > 0 ? tn / (tn + fp) : Number.NaN;
  return {
    cutoff,
    accuracy: items.length > 0 ? (tp + tn) / items.length : Number.NaN,
    balanced_accuracy: (tpr + tnr) / 2,
    tpr,
    fpr: 1 - tnr,
  };
}

/**
 * The best true-positive rate achievable with a false-positive rate ≤ `maxFpr`, choosing the
 * threshold on these very scores (so it is optimistic on small sets; reported as such).
 */
export function tprAtFpr(items: Scored[], maxFpr: number): { tpr: number; threshold: number } {
  const negScores = items.filter((i) => i.label === 0).map((i) => i.score).sort((a, b) => b - a);
  const posScores = items.filter((i) => i.label === 1).map((i) => i.score);
  if (negScores.length === 0 || posScores.length === 0) return { tpr: Number.NaN, threshold: Number.NaN };
  const allowedFp = Math.floor(maxFpr * negScores.length);
  // Threshold just above the (allowedFp+1)-th highest negative score, so at most allowedFp negatives pass.
  const blocker = negScores[allowedFp];
  const threshold = blocker === undefined ? -Infinity : nextUp(blocker);
  const tpr = posScores.filter((s) => s >= threshold).length / posScores.length;
  return { tpr, threshold };
}

function nextUp(x: number): number {
  return x + Math.max(Number.EPSILON, Math.abs(x) * Number.EPSILON);
}

export interface LatencyStats {
  mean_ms: number;
  p95_ms: number;
}

export function latencyStats(samples: number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, x) => s + x, 0) / (samples.length || 1);
  return { mean_ms: Math.round(mean * 10) / 10, p95_ms: Math.round(percentile(sorted, 95) * 10) / 10 };
}
