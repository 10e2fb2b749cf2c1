import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BijouBackend, requestBody, type BijouBackendOptions } from '../../src/detector/remote/bijou-backend.js';
import { InProcessRateLimiter } from '../../src/detector/remote/rate-limiter.js';
import { fakeScore } from '../fakes/bitmind/fake-http.js';
import { BIJOU_MODELS, FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { CapturingLogger, ManualClock, makeImage, rejection, TEST_RETRY } from './helpers.js';

const KEY = 'bijou_test_key_0123';

describe('requestBody', () => {
  it.each([0, 1, 2, 3, 1000, 1001, 1002])('is the JSON document for %i bytes', (n) => {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 256));
    expect(JSON.parse(requestBody(bytes, n % 2 === 0).toString('utf8'))).toEqual({ image: bytes.toString('base64'), consent: n % 2 === 0 });
  });
});

describe('Bijou POST /api/detect', () => {
  let clock: ManualClock;
  let fake: FakeBijouServer;
  const backends: BijouBackend[] = [];

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeBijouServer.start({ apiKeys: [KEY], now: clock.now });
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await fake.close();
  });

  function backend(options: Partial<BijouBackendOptions> = {}): BijouBackend {
    const b = new BijouBackend({
      baseUrl: fake.url,
      apiKey: KEY,
      retry: TEST_RETRY,
      clock,
      // Each test gets its own budget on the manual clock (the default is shared per process).
      rateLimiter: new InProcessRateLimiter(100, 60_000, clock.now),
      ...options,
    });
    backends.push(b);
    return b;
  }

  it("passes Bijou's model_results and ensemble score through, consent false by default", async () => {
    const image = await makeImage('jpeg', { seed: 21 });
    const result = await backend().detect(image);
    expect(Object.keys(result.model_results).sort()).toEqual([...BIJOU_MODELS].sort());
    for (const m of BIJOU_MODELS) {
      expect(result.model_results[m]).toEqual({ score: fakeScore(image.bytes, `bijou:${m}`), latency_ms: expect.any(Number) });
    }
    const mean = BIJOU_MODELS.reduce((s, m) => s + fakeScore(image.bytes, `bijou:${m}`), 0) / BIJOU_MODELS.length;
    expect(result.ensemble_score).toBeCloseTo(mean, 12);
    expect(result).toMatchObject({ models_succeeded: 5, models_total: 5, backends: ['bijou'] });
    expect(result.notes).toContain('bijou: vendor detection time 523 ms');
    expect(fake.requests[0]).toMatchObject({ consent: false, format: 'jpeg', imageBytes: image.bytes.length, status: 200 });
  });

  it('sends consent true only when the operator opted in, and says the image was stored', async () => {
    const result = await backend({ consent: true }).detect(await makeImage('png'));
    expect(fake.requests[0]?.consent).toBe(true);
    expect(result.notes?.some((n) => n.includes('stored the image'))).toBe(true);
  });

  it("re-derives the verdict from our bands and notes Bijou's own when it differs", async () => {
    const image = await makeImage('png', { seed: 22 });
    fake.scores.set(image.sha256, 0.75);
    const same = await backend().detect(image);
    expect(same).toMatchObject({ verdict: 'ai_generated', prediction: 'ai', ensemble_score: 0.75 });
    expect(same.notes?.some((n) => n.includes("own verdict"))).toBe(false);
    const strict = await backend({ bands: { ai: 0.9, uncertain: 0.5 } }).detect(image);
    expect(strict).toMatchObject({ verdict: 'uncertain', prediction: 'uncertain', ensemble_score: 0.75 });
    expect(strict.notes?.some((n) => n.includes("bijou's own verdict was ai_generated"))).toBe(true);
  });

  it('401 invalid key: auth_failed, not retried, key never in the message or logs', async () => {
    const logger = new CapturingLogger();
    const error = await rejection(backend({ apiKey: 'bijou_wrong_key_999', logger }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(error.message).toContain('BIJOU_API_KEY');
    expect(fake.counts.detect).toBe(1);
    expect(logger.lines.join('\n') + error.message).not.toContain('bijou_wrong_key_999');
  });

  it('400 (bytes that are no JPG/PNG/WebP): bad_request, not retried', async () => {
    const image = { ...(await makeImage('png')), bytes: Buffer.from('GIF89a but not really') };
    const error = await rejection(backend().detect(image));
    expect(error).toMatchObject({ code: 'bad_request', retryable: false });
    expect(error.message).toContain('Unsupported image format');
    expect(fake.counts.detect).toBe(1);
  });

  it('402: out_of_credits, not retried; the cool-down keeps the next call off the server', async () => {
    fake.setCredits(KEY, 0);
    const b = backend({ breaker: { creditsCooldownMs: 3_600_000 } });
    const image = await makeImage('png');
    const first = await rejection(b.detect(image));
    expect(first).toMatchObject({ code: 'out_of_credits', retryable: false, details: { circuit: 'opened' } });
    expect(fake.counts.detect).toBe(1);
    const second = await rejection(b.detect(image));
    expect(second).toMatchObject({ code: 'out_of_credits', details: { circuit: 'open' } });
    expect(fake.counts.detect).toBe(1);
    // Credits bought; once the cool-down is over one trial call goes through and closes the circuit.
    fake.setCredits(KEY, 10);
    clock.advance(3_600_001);
    await expect(b.detect(image)).resolves.toMatchObject({ backends: ['bijou'] });
    expect(b.circuit.state().state).toBe('closed');
    expect(fake.credits(KEY)).toBe(9);
  });

  it('404 is re-sent once', async () => {
    fake.faults.inject({ kind: 'status', status: 404 });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bijou'] });
    expect(fake.counts.detect).toBe(2);
  });

  it('404 twice: remote_error naming BIJOU_BASE_URL, not retried further', async () => {
    fake.faults.inject({ kind: 'status', status: 404 }, 2);
    const error = await rejection(backend().detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'remote_error', retryable: false });
    expect(error.message).toContain('BIJOU_BASE_URL');
    expect(fake.counts.detect).toBe(2);
  });

  it('429 waits the given retry_after, then succeeds', async () => {
    fake.faults.inject({
      kind: 'status',
      status: 429,
      body: { statusCode: 429, body: { error: 'Rate limit exceeded', retry_after: 7 } },
    });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bijou'] });
    expect(clock.sleeps).toEqual([7000]);
  });

  it("the server's own 100/minute limit: 429 with retry_after, honoured", async () => {
    await fake.close();
    fake = await FakeBijouServer.start({ apiKeys: [KEY], now: clock.now, ratePerMinute: 3 });
    const b = backend({ retry: { ...TEST_RETRY, deadlineMs: 120_000 } });
    const image = await makeImage('png');
    for (let i = 0; i < 4; i++) await b.detect(image);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200, 429, 200]);
    expect(clock.sleeps).toEqual([60_000]);
  });

  it('the client limiter keeps requests under the budget: no 429 ever reaches the server', async () => {
    const b = backend({ rateLimiter: new InProcessRateLimiter(3, 60_000, clock.now), retry: { ...TEST_RETRY, deadlineMs: 120_000 } });
    const image = await makeImage('png');
    for (let i = 0; i < 7; i++) await b.detect(image);
    expect(fake.requests.map((r) => r.status)).toEqual(Array(7).fill(200));
    expect(clock.sleeps).toEqual([60_000, 60_000]);
  });

  it('a budget wait beyond the deadline: rate_limited with retryAfterSeconds, nothing sent', async () => {
    const limiter = new InProcessRateLimiter(1, 60_000, clock.now);
    await limiter.tryTake();
    const error = await rejection(backend({ rateLimiter: limiter }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterSeconds: 60 });
    expect(fake.counts.detect).toBe(0);
  });

  it('5xx is retried with backoff; persistent 5xx is a retryable remote_error', async () => {
    fake.faults.inject({ kind: 'status', status: 500 });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bijou'] });
    expect(clock.sleeps).toHaveLength(1);
    fake.faults.inject({ kind: 'status', status: 500 }, 3);
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'remote_error', retryable: true });
  });

  it('checks the status inside the envelope too: HTTP 200 wrapping a 500 is retried', async () => {
    fake.faults.inject({ kind: 'inner', status: 500 });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bijou'] });
    expect(fake.counts.detect).toBe(2);
    fake.faults.inject({ kind: 'inner', status: 402, error: 'Insufficient credits' });
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'out_of_credits' });
  });

  it('malformed JSON: invalid_response, retried', async () => {
    fake.faults.inject({ kind: 'malformed' });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bijou'] });
    fake.faults.inject({ kind: 'malformed' }, 3);
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('an envelope without data is invalid_response', async () => {
    fake.faults.inject({ kind: 'status', status: 200, body: { statusCode: 200, body: { data: { prediction: 'ai' } } } }, 3);
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('a hanging server times out (retryable)', async () => {
    fake.faults.inject({ kind: 'hang' }, 3);
    const error = await rejection(backend({ retry: { ...TEST_RETRY, attemptTimeoutMs: 200 } }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('repeated failures open the circuit: the next call fails fast with remote_unavailable', async () => {
    const b = backend({ breaker: { failureThreshold: 2, cooldownMs: 30_000 } });
    fake.faults.inject({ kind: 'status', status: 500 }, 6);
    await rejection(b.detect(await makeImage('png')));
    const opened = await rejection(b.detect(await makeImage('png')));
    expect(opened).toMatchObject({ code: 'remote_error', details: { circuit: 'opened' } });
    const before = fake.counts.detect;
    const fast = await rejection(b.detect(await makeImage('png')));
    expect(fast).toMatchObject({ code: 'remote_unavailable', retryable: true, details: { circuit: 'open' } });
    expect(fake.counts.detect).toBe(before);
  });
});
