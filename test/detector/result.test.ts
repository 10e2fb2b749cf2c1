import { describe, expect, it } from 'vitest';
import { classify, DEFAULT_BANDS } from '../../src/detector/result.js';

describe('verdict bands', () => {
  it.each([
    [0.7, 'ai', 'ai_generated', 0.7],
    [0.95, 'ai', 'ai_generated', 0.95],
    [0.6999, 'uncertain', 'uncertain', 0.6999],
    [0.4, 'uncertain', 'uncertain', 0.4],
    [0.3999, 'real', 'likely_real', 1 - 0.3999],
    [0, 'real', 'likely_real', 1],
  ] as const)('score %f → %s / %s', (score, prediction, verdict, confidence) => {
    const r = classify(score, DEFAULT_BANDS);
    expect(r.prediction).toBe(prediction);
    expect(r.verdict).toBe(verdict);
    expect(r.confidence).toBeCloseTo(confidence, 10);
  });

  it('follows configured bands', () => {
    expect(classify(0.65, { ai: 0.6, uncertain: 0.3 }).verdict).toBe('ai_generated');
    expect(classify(0.35, { ai: 0.6, uncertain: 0.3 }).verdict).toBe('uncertain');
    expect(classify(0.29, { ai: 0.6, uncertain: 0.3 }).verdict).toBe('likely_real');
  });
});
