import type { DetectionResult } from '../../detector/result.js';

/**
 * The platform-neutral layout of a verdict, shared by Discord embeds and Slack Block Kit so a
 * moderator sees the same message everywhere. Renderers only translate this into markup.
 */
export interface ResultView {
  /** "Likely AI-generated", "Uncertain", "Likely real". */
  headline: string;
  tone: 'danger' | 'warning' | 'ok';
  /** RGB colour for the tone: red ≥ alert threshold, amber uncertain, green likely real. */
  colour: number;
  emoji: string;
  /** e.g. "AI score 0.91 · confidence 91%". */
  scoreLine: string;
  models: Array<{ id: string; score: number; bar: string }>;
  /** e.g. "3/4 models answered (provenance: no metadata)". */
  answered: string;
  latency: string;
  evidence: string[];
  notes: string[];
  reminder: string;
}

export const REMINDER =
  'Detectors can be wrong, especially on new generators, screenshots and heavily edited images. Treat this as a hint for human review.';

const COLOURS = { danger: 0xd83c3e, warning: 0xf0a020, ok: 0x2ea043 } as const;

/** A 10-cell bar for a score in [0, 1]. */
export function scoreBar(score: number, cells = 10): string {
  const filled = Math.max(0, Math.min(cells, Math.round(score * cells)));
  return '█'.repeat(filled) + '░'.repeat(cells - filled);
}

export function buildResultView(result: DetectionResult): ResultView {
  const tone = result.prediction === 'ai' ? 'danger' : result.prediction === 'uncertain' ? 'warning' : 'ok';
  const headline = tone === 'danger' ? 'Likely AI-generated' : tone === 'warning' ? 'Uncertain' : 'Likely real';
  const emoji = tone === 'danger' ? '🔴' : tone === 'warning' ? '🟠' : '🟢';
  const skipped = Object.entries(result.model_notes ?? {}).map(([id, n]) => `${id}: ${n.status === 'abstained' ? n.reason : `failed (${n.code})`}`);
  return {
    headline,
    tone,
    colour: COLOURS[tone],
    emoji,
    scoreLine: `AI score ${result.ensemble_score.toFixed(2)} · confidence ${Math.round(result.confidence * 100)}%`,
    models: Object.entries(result.model_results).map(([id, m]) => ({ id, score: m.score, bar: scoreBar(m.score) })),
    answered: `${result.models_succeeded}/${result.models_total} models answered${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`,
    latency: `${Math.round(result.detection_latency_ms)} ms`,
    evidence: result.evidence ?? [],
    notes: result.notes ?? [],
    reminder: REMINDER,
  };
}
