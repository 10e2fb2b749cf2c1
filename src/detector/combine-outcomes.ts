import { GenguardError } from '../errors/genguard-error.js';
import { classify, round, type Bands, type DetectionResult, type MemberNote, type ModelResult } from './result.js';

export type MemberReport =
  | { id: string; weight: number; latencyMs: number; status: 'ok'; score: number; evidence?: string[] }
  | { id: string; weight: number; latencyMs: number; status: 'abstained' | 'failed'; code: string; reason: string };

/**
 * The ensemble maths: the score is the weighted mean of the members that succeeded; members that
 * abstained or failed are left out of the mean and of `models_succeeded` but named in
 * `model_notes`. Members with weight 0 are reported without moving the score.
 */
export function combineOutcomes(reports: MemberReport[], bands: Bands, totalMs: number): DetectionResult {
  const modelResults: Record<string, ModelResult> = {};
  const notes: Record<string, MemberNote> = {};
  const evidence: string[] = [];
  let weighted = 0;
  let weights = 0;
  let succeeded = 0;
  for (const r of reports) {
    if (r.status === 'ok') {
      succeeded++;
      modelResults[r.id] = { score: round(r.score), latency_ms: round(r.latencyMs, 1) };
      weighted += r.weight * r.score;
      weights += r.weight;
      for (const e of r.evidence ?? []) evidence.push(`${r.id}: ${e}`);
    } else {
      notes[r.id] = { status: r.status, code: r.code, reason: r.reason };
    }
  }
  if (weights <= 0) {
    const why = reports
      .filter((r) => r.status !== 'ok' || r.weight <= 0)
      .map((r) => (r.status === 'ok' ? `${r.id}: weight 0` : `${r.id}: ${r.status} (${r.code}: ${r.reason})`))
      .join('; ');
    throw new GenguardError('no_model_succeeded', `no detector could judge this image — ${why || 'no detectors configured'}`, {
      details: { members: notes },
    });
  }
  const score = weighted / weights;
  const band = classify(score, bands);
  return {
    prediction: band.prediction,
    confidence: round(band.confidence),
    ensemble_score: round(score),
    verdict: band.verdict,
    models_succeeded: succeeded,
    models_total: reports.length,
    model_results: modelResults,
    detection_latency_ms: round(totalMs, 1),
    ...(Object.keys(notes).length > 0 ? { model_notes: notes } : {}),
    ...(evidence.length > 0 ? { evidence } : {}),
    backends: ['local'],
  };
}
