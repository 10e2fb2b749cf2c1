import type { DetectionBackend } from '../../src/detector/backend.js';
import { classify, type DetectionResult } from '../../src/detector/result.js';
import type { ImageInput } from '../../src/intake/image-input.js';

export interface NamedScoreBackendOptions {
  /** Also report a third model that abstained (image too small), so renderers show "2/3 models answered" and the note. */
  abstainingModel?: boolean;
}

/**
 * A fast fake backend whose score comes from the image's source URL ("ai-93.png" → 0.93,
 * "real-12.png" → 0.12, anything else 0.5), so a test says what it expects by naming files.
 */
export class NamedScoreBackend implements DetectionBackend {
  readonly id = 'local' as const;
  readonly seen: ImageInput[] = [];
  readonly #abstaining: boolean;

  constructor(options: NamedScoreBackendOptions = {}) {
    this.#abstaining = options.abstainingModel ?? false;
  }

  async detect(image: ImageInput): Promise<DetectionResult> {
    this.seen.push(image);
    const m = /(?:ai|real|mid)-(\d{1,3})/.exec(decodeURIComponent(image.source));
    const score = m ? Math.min(1, Number(m[1]) / 100) : 0.5;
    return {
      ...classify(score),
      ensemble_score: score,
      models_succeeded: 2,
      models_total: this.#abstaining ? 3 : 2,
      model_results: { 'fake-vit': { score, latency_ms: 3 }, 'fake-cnn': { score: Math.max(0, score - 0.06), latency_ms: 2 } },
      ...(this.#abstaining ? { model_notes: { 'fake-slow': { status: 'abstained' as const, code: 'too_small', reason: 'image too small' } } } : {}),
      detection_latency_ms: 5,
    };
  }

  async close(): Promise<void> {}
}
