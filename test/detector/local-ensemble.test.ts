import { describe, expect, it } from 'vitest';
import { LocalEnsemble } from '../../src/detector/local-ensemble.js';
import type { Detector, DetectorOutcome } from '../../src/detector/detector.js';
import { DEFAULT_BANDS } from '../../src/detector/result.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ImageInput } from '../../src/intake/image-input.js';

const image: ImageInput = {
  bytes: Buffer.from('x'),
  format: 'png',
  width: 4,
  height: 4,
  orientation: 1,
  sha256: '0'.repeat(64),
  source: 'test',
};

function member(id: string, weight: number, behaviour: DetectorOutcome | Error | (() => Promise<DetectorOutcome>)): Detector {
  return {
    id,
    weight,
    async detect() {
      if (behaviour instanceof Error) throw behaviour;
      if (typeof behaviour === 'function') return behaviour();
      return behaviour;
    },
  };
}

function ensemble(detectors: Detector[], decode = async () => ({ data: Buffer.alloc(48), width: 4, height: 4 })) {
  return new LocalEnsemble({ members: detectors.map((detector) => ({ detector })), bands: DEFAULT_BANDS, decode, version: 't' });
}

describe('ensemble maths', () => {
  it('is the weighted mean of the members that succeeded', async () => {
    const r = await ensemble([
      member('a', 1, { status: 'ok', score: 0.9 }),
      member('b', 3, { status: 'ok', score: 0.5 }),
    ]).detect(image);
    expect(r.ensemble_score).toBeCloseTo((0.9 + 1.5) / 4, 4);
    expect(r.verdict).toBe('uncertain');
    expect(r.models_succeeded).toBe(2);
    expect(r.models_total).toBe(2);
    expect(r.model_results['a']?.score).toBe(0.9);
    expect(r.model_notes).toBeUndefined();
  });

  it('leaves abstaining and failing members out of the mean and the count, naming why', async () => {
    const r = await ensemble([
      member('ok', 1, { status: 'ok', score: 0.8 }),
      member('quiet', 5, { status: 'abstain', code: 'no_provenance', reason: 'nothing found' }),
      member('broken', 5, new Error('boom')),
    ]).detect(image);
    expect(r.ensemble_score).toBe(0.8);
    expect(r.verdict).toBe('ai_generated');
    expect(r.confidence).toBe(0.8);
    expect(r.models_succeeded).toBe(1);
    expect(r.models_total).toBe(3);
    expect(Object.keys(r.model_results)).toEqual(['ok']);
    expect(r.model_notes?.['quiet']).toEqual({ status: 'abstained', code: 'no_provenance', reason: 'nothing found' });
    expect(r.model_notes?.['broken']?.status).toBe('failed');
    expect(r.model_notes?.['broken']?.reason).toContain('boom');
  });

  it('weight-0 members are reported but do not move the score', async () => {
    const r = await ensemble([member('main', 1, { status: 'ok', score: 0.2 }), member('shadow', 0, { status: 'ok', score: 1 })]).detect(image);
    expect(r.ensemble_score).toBe(0.2);
    expect(r.model_results['shadow']?.score).toBe(1);
    expect(r.verdict).toBe('likely_real');
    expect(r.confidence).toBe(0.8);
  });

  it('throws no_model_succeeded with every member’s reason when none answered', async () => {
    const err = await ensemble([
      member('a', 1, { status: 'abstain', code: 'model_missing', reason: 'not installed' }),
      member('b', 1, new GenguardError('inference_failed', 'bad shape')),
    ])
      .detect(image)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenguardError);
    expect((err as GenguardError).code).toBe('no_model_succeeded');
    expect((err as GenguardError).message).toContain('model_missing');
    expect((err as GenguardError).message).toContain('bad shape');
  });

  it('reports an undecodable image as decode_failed, not as no_model_succeeded', async () => {
    const pixelMember: Detector = {
      id: 'px',
      weight: 1,
      async detect(_img, ctx) {
        await ctx.pixels!();
        return { status: 'ok', score: 0.5 };
      },
    };
    const err = await ensemble([pixelMember], async () => {
      throw new GenguardError('decode_failed', 'truncated');
    })
      .detect(image)
      .catch((e: unknown) => e);
    expect((err as GenguardError).code).toBe('decode_failed');
  });

  it('decodes once for all pixel members', async () => {
    let decodes = 0;
    const px = (id: string): Detector => ({
      id,
      weight: 1,
      async detect(_i, ctx) {
        const p = await ctx.pixels!();
        return { status: 'ok', score: p.width / 10 };
      },
    });
    const r = await ensemble([px('a'), px('b'), px('c')], async () => {
      decodes++;
      return { data: Buffer.alloc(48), width: 4, height: 4 };
    }).detect(image);
    expect(decodes).toBe(1);
    expect(r.ensemble_score).toBeCloseTo(0.4, 6);
  });

  it('fails a member that exceeds its timeout', async () => {
    const slow = member('slow', 1, () => new Promise((resolve) => setTimeout(() => resolve({ status: 'ok', score: 1 }), 500)));
    const e = new LocalEnsemble({
      members: [{ detector: slow, timeoutMs: 20 }, { detector: member('fast', 1, { status: 'ok', score: 0.1 }) }],
      bands: DEFAULT_BANDS,
      decode: async () => ({ data: Buffer.alloc(0), width: 0, height: 0 }),
      version: 't',
    });
    const r = await e.detect(image);
    expect(r.model_notes?.['slow']).toMatchObject({ status: 'failed', code: 'timeout' });
    expect(r.ensemble_score).toBe(0.1);
  });
});
