import type { Bands } from '../detector/result.js';
import { atCutoff, latencyStats, rocAuc, tprAtFpr, type CutoffStats, type LatencyStats, type Scored } from './eval-metrics.js';
import type { ScanOutcome } from './scan-command.js';

export type LabelledOutcome = ScanOutcome & { label: 0 | 1 };

export interface EvalReport {
  counts: { real: number; ai: number; scored: number; errors: number };
  roc_auc: number;
  at_0_7: CutoffStats;
  at_0_5: CutoffStats;
  /** At the configured AI threshold. */
  balanced_accuracy: number;
  tpr_at_5pct_fpr: number;
  per_model: Record<string, { auc: number; n: number }>;
  latency: LatencyStats;
  errors: Array<{ file: string; code: string; message: string }>;
}

export function buildEvalReport(outcomes: LabelledOutcome[], bands: Bands): EvalReport {
  const scored: Scored[] = [];
  const perModel = new Map<string, Scored[]>();
  const latencies: number[] = [];
  const errors: EvalReport['errors'] = [];
  for (const o of outcomes) {
    if (!o.result) {
      errors.push({ file: o.input.file, code: o.error?.code ?? 'internal', message: o.error?.message ?? '' });
      continue;
    }
    scored.push({ label: o.label, score: o.result.ensemble_score });
    latencies.push(o.result.detection_latency_ms);
    for (const [id, m] of Object.entries(o.result.model_results)) {
      const list = perModel.get(id) ?? [];
      list.push({ label: o.label, score: m.score });
      perModel.set(id, list);
    }
  }
  return {
    counts: {
      real: outcomes.filter((o) => o.label === 0).length,
      ai: outcomes.filter((o) => o.label === 1).length,
      scored: scored.length,
      errors: errors.length,
    },
    roc_auc: rocAuc(scored),
    at_0_7: atCutoff(scored, 0.7),
    at_0_5: atCutoff(scored, 0.5),
    balanced_accuracy: atCutoff(scored, bands.ai).balanced_accuracy,
    tpr_at_5pct_fpr: tprAtFpr(scored, 0.05).tpr,
    per_model: Object.fromEntries([...perModel].sort().map(([id, list]) => [id, { auc: rocAuc(list), n: list.length }])),
    latency: latencyStats(latencies),
    errors,
  };
}

const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));

export function formatEvalReport(r: EvalReport): string {
  const lines = [
    `images: ${r.counts.real} real, ${r.counts.ai} AI; scored ${r.counts.scored}, errors ${r.counts.errors}`,
    `ROC AUC (ensemble score):   ${f(r.roc_auc)}`,
    `at 0.7: accuracy ${f(r.at_0_7.accuracy)}, balanced ${f(r.at_0_7.balanced_accuracy)}, TPR ${f(r.at_0_7.tpr)}, FPR ${f(r.at_0_7.fpr)}`,
    `at 0.5: accuracy ${f(r.at_0_5.accuracy)}, balanced ${f(r.at_0_5.balanced_accuracy)}, TPR ${f(r.at_0_5.tpr)}, FPR ${f(r.at_0_5.fpr)}`,
    `TPR at 5% FPR:              ${f(r.tpr_at_5pct_fpr)}  (threshold chosen on these images: optimistic)`,
    `latency: mean ${r.latency.mean_ms} ms, p95 ${r.latency.p95_ms} ms`,
    'per model:',
    ...Object.entries(r.per_model).map(([id, m]) => `  ${id.padEnd(14)} AUC ${f(m.auc)}  (n=${m.n})`),
  ];
  if (r.errors.length > 0) {
    lines.push('errors:', ...r.errors.slice(0, 20).map((e) => `  ${e.file}: ${e.code}: ${e.message}`));
    if (r.errors.length > 20) lines.push(`  … and ${r.errors.length - 20} more`);
  }
  return lines.join('\n');
}
