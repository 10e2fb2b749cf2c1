import { describe, expect, it } from 'vitest';
import { atCutoff, rocAuc, tprAtFpr } from '../../src/cli/eval-metrics.js';

const s = (label: 0 | 1, score: number) => ({ label, score });

describe('eval metrics', () => {
  it('ROC AUC: perfect, inverted, ties and the textbook example', () => {
    expect(rocAuc([s(0, 0.1), s(0, 0.2), s(1, 0.8), s(1, 0.9)])).toBe(1);
    expect(rocAuc([s(1, 0.1), s(1, 0.2), s(0, 0.8), s(0, 0.9)])).toBe(0);
    expect(rocAuc([s(0, 0.5), s(1, 0.5)])).toBe(0.5);
    // 3 pos × 3 neg; pairs won: 0.9 beats all 3, 0.6 beats 0.5 and 0.2, 0.3 beats 0.2 → 6/9.
    expect(rocAuc([s(1, 0.9), s(1, 0.6), s(1, 0.3), s(0, 0.7), s(0, 0.5), s(0, 0.2)])).toBeCloseTo(6 / 9, 12);
    expect(rocAuc([s(1, 0.9)])).toBeNaN();
  });

  it('accuracy, balanced accuracy, TPR and FPR at a cut-off', () => {
    const items = [s(1, 0.9), s(1, 0.75), s(1, 0.6), s(0, 0.8), s(0, 0.3), s(0, 0.1), s(0, 0.05), s(0, 0.0)];
    const r = atCutoff(items, 0.7);
    expect(r.tpr).toBeCloseTo(2 / 3, 12);
    expect(r.fpr).toBeCloseTo(1 / 5, 12);
    expect(r.accuracy).toBeCloseTo(6 / 8, 12);
    expect(r.balanced_accuracy).toBeCloseTo((2 / 3 + 4 / 5) / 2, 12);
  });

  it('TPR at a maximum FPR never lets more negatives through than allowed', () => {
    const neg = Array.from({ length: 20 }, (_, i) => s(0, i / 20)); // 0 … 0.95
    const pos = [s(1, 0.97), s(1, 0.95), s(1, 0.9), s(1, 0.5)];
    // 5% of 20 = 1 negative may pass: the highest negative (0.95) passes, so threshold sits above 0.9.
    const r = tprAtFpr([...neg, ...pos], 0.05);
    expect(r.tpr).toBe(0.5);
    expect(neg.filter((n) => n.score >= r.threshold).length).toBeLessThanOrEqual(1);
  });
});
