import type { DetectionBackend } from '../../src/detector/backend.js';
import { classify, type DetectionResult } from '../../src/detector/result.js';
import type { ImageInput } from '../../src/intake/image-input.js';
import { seededPng } from '../helpers/seeded-png.js';

/**
 * A fast fake backend whose score comes from the image's source URL ("ai-93.png" → 0.93,
 * "real-12.png" → 0.12, anything else 0.5), so a test says what it expects by naming files.
 */
export class NamedScoreBackend implements DetectionBackend {
  readonly id = 'local' as const;
  readonly seen: ImageInput[] = [];

  async detect(image: ImageInput): Promise<DetectionResult> {
    this.seen.push(image);
    const m = /(?:ai|real|mid)-(\d{1,3})/.exec(decodeURIComponent(image.source));
    const score = m ? Math.min(1, Number(m[1]) / 100) : 0.5;
    return {
      ...classify(score),
      ensemble_score: score,
      models_succeeded: 2,
      models_total: 2,
      model_results: { 'fake-vit': { score, latency_ms: 3 }, 'fake-cnn': { score: Math.max(0, score - 0.06), latency_ms: 2 } },
      detection_latency_ms: 5,
    };
  }

  async close(): Promise<void> {}
}

/** A small PNG whose bytes depend on `seed`. */
export const png = (seed: number, width = 64, height = 48): Promise<Buffer> => seededPng(seed, width, height);
