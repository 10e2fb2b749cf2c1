import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DetectionBackend } from '../../src/detector/backend.js';
import { CascadeBackend } from '../../src/detector/cascade-backend.js';
import { BitmindBackend } from '../../src/detector/remote/bitmind-backend.js';
import { BijouBackend } from '../../src/detector/remote/bijou-backend.js';
import { InProcessRateLimiter } from '../../src/detector/remote/rate-limiter.js';
import { classify, DEFAULT_BANDS, type DetectionResult } from '../../src/detector/result.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ImageInput } from '../../src/intake/image-input.js';
import { FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { ManualClock, makeImage, TEST_RETRY } from './helpers.js';

/** Test double of the local ensemble (another module): a fixed score, or a failure. */
class FixedLocal implements DetectionBackend {
  readonly id = 'local' as const;
  calls = 0;
  constructor(private readonly score: number | GenguardError) {}
  detect(): Promise<DetectionResult> {
    this.calls += 1;
    if (this.score instanceof GenguardError) return Promise.reject(this.score);
    const s = this.score;
    return Promise.resolve({
      ...classify(s, DEFAULT_BANDS),
      ensemble_score: s,
      models_succeeded: 2,
      models_total: 3,
      model_results: { npr: { score: s, latency_ms: 12 }, univfd: { score: s, latency_ms: 30 } },
      model_notes: { provenance: { status: 'abstained', code: 'no_metadata', reason: 'no C2PA or EXIF markers' } },
      detection_latency_ms: 45,
      evidence: ['local evidence'],
      notes: ['local note'],
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const BITMIND_KEY = 'cascade-org-key';
const BIJOU_KEY = 'bijou_cascade_key';

describe('CascadeBackend', () => {
  let clock: ManualClock;
  let bitmindFake: FakeBitmindServer;
  let bijouFake: FakeBijouServer;
  let bitmind: BitmindBackend;
  let bijou: BijouBackend;
  let image: ImageInput;

  beforeEach(async () => {
    clock = new ManualClock();
    bitmindFake = await FakeBitmindServer.start({ apiKeys: [BITMIND_KEY] });
    bijouFake = await FakeBijouServer.start({ apiKeys: [BIJOU_KEY] });
    bitmind = new BitmindBackend({
      credentials: { method: 'api_key', apiKey: BITMIND_KEY },
      baseUrl: bitmindFake.url,
      retry: TEST_RETRY,
      clock,
    });
    bijou = new BijouBackend({
      baseUrl: bijouFake.url,
      apiKey: BIJOU_KEY,
      retry: TEST_RETRY,
      clock,
      rateLimiter: new InProcessRateLimiter(100, 60_000, clock.now),
    });
    image = await makeImage('jpeg', { seed: 99 });
    bitmindFake.scores.set(image.sha256, 0.95);
    bijouFake.scores.set(image.sha256, 0.2);
  });

  afterEach(async () => {
    await bitmind.close();
    await bijou.close();
    await bitmindFake.close();
    await bijouFake.close();
  });

  it.each([0.9, 0.1])('a certain local score (%s) is final: no remote is called', async (score) => {
    const cascade = new CascadeBackend({ local: new FixedLocal(score), remotes: [bitmind], bands: DEFAULT_BANDS });
    const result = await cascade.detect(image);
    expect(result.ensemble_score).toBe(score);
    expect(result.backends).toEqual(['local']);
    expect(bitmindFake.counts.image).toBe(0);
  });

  it('an uncertain local score asks the remote, which decides by default', async () => {
    const cascade = new CascadeBackend({ local: new FixedLocal(0.55), remotes: [bitmind], bands: DEFAULT_BANDS });
    const result = await cascade.detect(image);
    expect(bitmindFake.counts.image).toBe(1);
    expect(result).toMatchObject({
      verdict: 'ai_generated',
      prediction: 'ai',
      ensemble_score: 0.95,
      backends: ['local', 'bitmind'],
      models_succeeded: 3,
      models_total: 4,
      evidence: ['local evidence'],
    });
    expect(Object.keys(result.model_results).sort()).toEqual(['bitmind', 'npr', 'univfd']);
    expect(result.model_results['bitmind']?.score).toBe(0.95);
    expect(result.notes).toContain('local ensemble uncertain (0.55); asked bitmind 0.95');
    expect(result.model_notes?.['provenance']?.status).toBe('abstained');
  });

  it('the band edges come from the configured bands', async () => {
    const bands = { ai: 0.9, uncertain: 0.8 };
    const certain = new CascadeBackend({ local: new FixedLocal(0.55), remotes: [bitmind], bands });
    expect((await certain.detect(image)).backends).toEqual(['local']);
    const uncertain = new CascadeBackend({ local: new FixedLocal(0.85), remotes: [bitmind], bands });
    expect((await uncertain.detect(image)).backends).toEqual(['local', 'bitmind']);
  });

  it('weights combine local and remotes when configured', async () => {
    const cascade = new CascadeBackend({
      local: new FixedLocal(0.5),
      remotes: [bitmind, bijou],
      bands: DEFAULT_BANDS,
      weights: { local: 1, bitmind: 1, bijou: 2 },
    });
    const result = await cascade.detect(image);
    expect(result.ensemble_score).toBeCloseTo((0.5 + 0.95 + 2 * 0.2) / 4, 12);
    expect(result.backends).toEqual(['local', 'bitmind', 'bijou']);
    expect(result.model_results['bijou']?.score).toBe(0.2);
    expect(result.verdict).toBe('uncertain');
  });

  it('a failing remote leaves the local result, with a note and a model note', async () => {
    bitmindFake.faults.inject({ kind: 'status', status: 500 }, 3);
    const cascade = new CascadeBackend({ local: new FixedLocal(0.6), remotes: [bitmind], bands: DEFAULT_BANDS });
    const result = await cascade.detect(image);
    expect(result).toMatchObject({ verdict: 'uncertain', ensemble_score: 0.6, backends: ['local'], models_succeeded: 2, models_total: 4 });
    expect(result.notes?.at(-1)).toMatch(/^bitmind failed \(remote_error\): .*; verdict from the local ensemble$/);
    expect(result.model_notes?.['bitmind']).toMatchObject({ status: 'failed', code: 'remote_error' });
  });

  it('one remote failing while another answers: the answer decides, the failure is noted', async () => {
    bijouFake.setCredits(BIJOU_KEY, 0);
    const cascade = new CascadeBackend({ local: new FixedLocal(0.6), remotes: [bitmind, bijou], bands: DEFAULT_BANDS });
    const result = await cascade.detect(image);
    expect(result.backends).toEqual(['local', 'bitmind']);
    expect(result.ensemble_score).toBe(0.95);
    expect(result.model_notes?.['bijou']).toMatchObject({ status: 'failed', code: 'out_of_credits' });
  });

  it('a remote out of credits is not called again during its cool-down', async () => {
    bijouFake.setCredits(BIJOU_KEY, 0);
    const cascade = new CascadeBackend({ local: new FixedLocal(0.6), remotes: [bijou], bands: DEFAULT_BANDS });
    await cascade.detect(image);
    const second = await cascade.detect(image);
    expect(bijouFake.counts.detect).toBe(1);
    expect(second.backends).toEqual(['local']);
    expect(second.notes?.at(-1)).toMatch(/^bijou failed \(out_of_credits\): bijou is unavailable until .*; verdict from the local ensemble$/);
  });

  it('when the local ensemble fails, the remote decides', async () => {
    const local = new FixedLocal(new GenguardError('no_model_succeeded', 'every member failed'));
    const cascade = new CascadeBackend({ local, remotes: [bitmind], bands: DEFAULT_BANDS });
    const result = await cascade.detect(image);
    expect(result).toMatchObject({ ensemble_score: 0.95, backends: ['bitmind'], models_succeeded: 1, models_total: 1 });
    expect(result.notes?.at(-1)).toBe('local ensemble failed (no_model_succeeded: every member failed); verdict from bitmind 0.95');
  });

  it('when everything fails, the error says so', async () => {
    bitmindFake.faults.inject({ kind: 'status', status: 500 }, 3);
    const local = new FixedLocal(new GenguardError('no_model_succeeded', 'every member failed'));
    const cascade = new CascadeBackend({ local, remotes: [bitmind], bands: DEFAULT_BANDS });
    await expect(cascade.detect(image)).rejects.toMatchObject({
      code: 'no_model_succeeded',
      retryable: true,
      details: { remotes: { bitmind: 'remote_error' } },
    });
  });

  it('refuses negative weights', () => {
    expect(() => new CascadeBackend({ local: new FixedLocal(0.5), remotes: [], bands: DEFAULT_BANDS, weights: { bijou: -1 } })).toThrow(
      /cascade weight of bijou/,
    );
  });
});
