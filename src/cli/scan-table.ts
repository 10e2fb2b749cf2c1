import type { ScanOutcome } from './scan-command.js';

const COLS = { file: 36, verdict: 13, score: 6, models: 44, k: 5, ms: 7 };

function fit(text: string, width: number): string {
  if (text.length <= width) return text.padEnd(width);
  return `…${text.slice(text.length - width + 1)}`;
}

export function scanTableHeader(): string {
  return [
    fit('file', COLS.file),
    fit('verdict', COLS.verdict),
    'score'.padStart(COLS.score),
    fit('models', COLS.models),
    'k/N'.padStart(COLS.k),
    'ms'.padStart(COLS.ms),
  ].join('  ');
}

/** One readable row; errors show their code and message in place of the verdict. */
export function formatScanRow(outcome: ScanOutcome): string {
  const file = fit(outcome.input.file, COLS.file);
  if (outcome.error || !outcome.result) {
    const e = outcome.error;
    return `${file}  ${fit('error', COLS.verdict)}  ${''.padStart(COLS.score)}  ${e?.code ?? 'internal'}: ${e?.message ?? ''}`;
  }
  const r = outcome.result;
  const models = Object.entries(r.model_results)
    .map(([id, m]) => `${id} ${m.score.toFixed(2)}`)
    .join(' ');
  return [
    file,
    fit(r.verdict, COLS.verdict),
    r.ensemble_score.toFixed(2).padStart(COLS.score),
    fit(models, COLS.models),
    `${r.models_succeeded}/${r.models_total}`.padStart(COLS.k),
    Math.round(r.detection_latency_ms).toString().padStart(COLS.ms),
  ].join('  ');
}
