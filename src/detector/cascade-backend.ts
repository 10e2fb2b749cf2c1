import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import type { ImageInput } from '../intake/image-input.js';
import type { BackendDetectOptions, DetectionBackend } from './backend.js';
import { abortError } from './remote/retry.js';
import { classify, round, type Bands, type DetectionResult, type MemberNote, type ModelResult } from './result.js';

/** Weight of each backend's score when a remote answered. Unlisted remotes weigh 1. */
export interface CascadeWeights {
  local: number;
  [remote: string]: number;
}

/** Default: the remote decides when it answers (the local ensemble weighs 0). */
export const DEFAULT_CASCADE_WEIGHTS: CascadeWeights = { local: 0, bitmind: 1, bijou: 1 };

export interface CascadeBackendOptions {
  local: DetectionBackend;
  remotes: DetectionBackend[];
  /** The uncertain band [uncertain, ai) decides when remotes are consulted; the same bands classify the result. */
  bands: Bands;
  weights?: Partial<CascadeWeights>;
}

interface Answer {
  id: string;
  result: DetectionResult;
}

/**
 * Local ensemble first; only when its score falls in the uncertain band (or it failed) are the
 * remotes asked, all at once, and their scores combined with the local one by weight. A remote that
 * fails (or whose circuit is open) is reported in `notes` and `model_notes`, and the local result
 * stands. `backends` lists who answered; `model_results` holds the local members plus one entry per
 * remote (its ensemble score: Bijou's own members are not merged, their names clash with ours).
 */
export class CascadeBackend implements DetectionBackend {
  readonly id = 'cascade' as const;
  private readonly local: DetectionBackend;
  private readonly remotes: DetectionBackend[];
  private readonly bands: Bands;
  private readonly weights: CascadeWeights;

  constructor(options: CascadeBackendOptions) {
    this.local = options.local;
    this.remotes = options.remotes;
    this.bands = options.bands;
    this.weights = { ...DEFAULT_CASCADE_WEIGHTS };
    for (const [k, v] of Object.entries(options.weights ?? {})) {
      if (v === undefined) continue;
      if (!(v >= 0)) throw new GenguardError('config_invalid', `cascade weight of ${k} must be ≥ 0, got ${v}`);
      this.weights[k] = v;
    }
  }

  async detect(image: ImageInput, options: BackendDetectOptions = {}): Promise<DetectionResult> {
    const started = performance.now();
    let local: DetectionResult | undefined;
    let localError: GenguardError | undefined;
    try {
      local = await this.local.detect(image, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      localError = toGenguardError(error);
    }
    if (local !== undefined && !this.isUncertain(local.ensemble_score)) {
      return { ...local, backends: ['local'] };
    }
    if (this.remotes.length === 0) {
      if (local !== undefined) return { ...local, backends: ['local'], notes: [...(local.notes ?? []), 'uncertain; no remote backend configured'] };
      throw localError ?? new GenguardError('internal', 'cascade: local ensemble gave no result');
    }

    const settled = await Promise.allSettled(this.remotes.map((r) => r.detect(image, options)));
    if (options.signal?.aborted) throw abortError(options.signal, 'cascade');
    const answers: Answer[] = [];
    const failures: Array<{ id: string; error: GenguardError }> = [];
    settled.forEach((s, i) => {
      const id = this.remotes[i]?.id ?? `remote${i}`;
      if (s.status === 'fulfilled') answers.push({ id, result: s.value });
      else failures.push({ id, error: toGenguardError(s.reason, 'remote_error') });
    });

    if (local === undefined && answers.length === 0) {
      const reasons = failures.map((f) => `${f.id}: ${f.error.code}`).join(', ');
      throw new GenguardError(localError?.code ?? 'no_model_succeeded', `cascade: local ensemble failed (${localError?.message ?? 'no result'}) and no remote answered (${reasons})`, {
        cause: localError,
        retryable: (localError?.retryable ?? false) || failures.some((f) => f.error.retryable),
        details: { remotes: Object.fromEntries(failures.map((f) => [f.id, f.error.code])) },
      });
    }
    return this.combine(local, localError, answers, failures, started);
  }

  private combine(
    local: DetectionResult | undefined,
    localError: GenguardError | undefined,
    answers: Answer[],
    failures: Array<{ id: string; error: GenguardError }>,
    started: number,
  ): DetectionResult {
    const entries = answers.map((a) => ({ id: a.id, score: a.result.ensemble_score, weight: this.weights[a.id] ?? 1 }));
    if (local !== undefined) entries.unshift({ id: 'local', score: local.ensemble_score, weight: this.weights.local });
    // Every weight zero (e.g. only the local ensemble answered): a plain mean rather than no answer.
    const weighted = entries.some((e) => e.weight > 0);
    const weightOf = (e: { weight: number }) => (weighted ? e.weight : 1);
    const total = entries.reduce((s, e) => s + weightOf(e), 0);
    const score = entries.reduce((s, e) => s + e.score * weightOf(e), 0) / total;

    const modelResults: Record<string, ModelResult> = { ...(local?.model_results ?? {}) };
    for (const a of answers) modelResults[a.id] = { score: a.result.ensemble_score, latency_ms: a.result.detection_latency_ms };
    const modelNotes: Record<string, MemberNote> = { ...(local?.model_notes ?? {}) };
    for (const f of failures) modelNotes[f.id] = { status: 'failed', code: f.error.code, reason: f.error.message };

    const notes = [...(local?.notes ?? [])];
    for (const a of answers) notes.push(...(a.result.notes ?? []));
    const asked = answers.map((a) => `${a.id} ${round(a.result.ensemble_score, 3)}`).join(', ');
    if (local === undefined) {
      notes.push(`local ensemble failed (${localError?.code ?? 'unknown'}: ${localError?.message ?? ''}); verdict from ${asked}`);
    } else if (answers.length > 0) {
      notes.push(`local ensemble uncertain (${round(local.ensemble_score, 3)}); asked ${asked}`);
    }
    for (const f of failures) {
      notes.push(
        answers.length > 0 || local === undefined
          ? `${f.id} failed (${f.error.code}): ${f.error.message}`
          : `${f.id} failed (${f.error.code}): ${f.error.message}; verdict from the local ensemble`,
      );
    }

    const evidence = [...(local?.evidence ?? []), ...answers.flatMap((a) => a.result.evidence ?? [])];
    return {
      ...classify(score, this.bands),
      ensemble_score: score,
      models_succeeded: (local?.models_succeeded ?? 0) + answers.length,
      models_total: (local?.models_total ?? 0) + this.remotes.length,
      model_results: modelResults,
      detection_latency_ms: Math.round(performance.now() - started),
      ...(Object.keys(modelNotes).length > 0 ? { model_notes: modelNotes } : {}),
      ...(evidence.length > 0 ? { evidence } : {}),
      backends: [...(local === undefined ? [] : ['local']), ...answers.map((a) => a.id)],
      notes,
    };
  }

  private isUncertain(score: number): boolean {
    return score >= this.bands.uncertain && score < this.bands.ai;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.local.close(), ...this.remotes.map((r) => r.close())]);
  }
}
