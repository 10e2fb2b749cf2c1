import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BitmindBackend, type BitmindBackendOptions } from '../../src/detector/remote/bitmind-backend.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { ManualClock, makeImage, rejection, TEST_RETRY } from './helpers.js';

const API_KEY = 'org-key-1234567';

describe('BitMind POST /image', () => {
  let clock: ManualClock;
  let fake: FakeBitmindServer;
  const backends: BitmindBackend[] = [];

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeBitmindServer.start({ apiKeys: [API_KEY], now: clock.now, maxImageBytes: 50_000 });
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await fake.close();
  });

  function backend(options: Partial<BitmindBackendOptions> = {}): BitmindBackend {
    const b = new BitmindBackend({
      credentials: { method: 'api_key', apiKey: API_KEY },
      baseUrl: fake.url,
      retry: TEST_RETRY,
      clock,
      ...options,
    });
    backends.push(b);
    return b;
  }

  it('maps confidence to one model named bitmind and classifies with the configured bands', async () => {
    const image = await makeImage('jpeg', { seed: 4 });
    fake.scores.set(image.sha256, 0.8);
    const defaults = await backend().detect(image);
    expect(defaults).toMatchObject({
      prediction: 'ai',
      verdict: 'ai_generated',
      confidence: 0.8,
      ensemble_score: 0.8,
      models_succeeded: 1,
      models_total: 1,
      backends: ['bitmind'],
    });
    expect(Object.keys(defaults.model_results)).toEqual(['bitmind']);
    expect(defaults.model_results['bitmind']?.score).toBe(0.8);
    expect(defaults.notes).toContain('bitmind: vendor processing time 45 ms');
    const strict = await backend({ bands: { ai: 0.9, uncertain: 0.5 } }).detect(image);
    expect(strict.verdict).toBe('uncertain');
  });

  it('posts the raw bytes', async () => {
    const image = await makeImage('png', { seed: 5 });
    await backend().detect(image);
    const req = fake.requests.find((r) => r.path === '/image');
    expect(req?.bytes).toBe(image.bytes.length);
    expect(req?.headers['content-type']).toBe('application/octet-stream');
  });

  it('400 for a body that is not an image: bad_request, not retried', async () => {
    const image = { ...(await makeImage('png')), bytes: Buffer.from('definitely not an image') };
    const error = await rejection(backend().detect(image));
    expect(error).toMatchObject({ code: 'bad_request', retryable: false });
    expect(error.message).toContain('not an image');
    expect(fake.counts.image).toBe(1);
  });

  it('an empty image is refused before any request', async () => {
    const image = { ...(await makeImage('png')), bytes: Buffer.alloc(0) };
    await expect(backend().detect(image)).rejects.toMatchObject({ code: 'empty_input' });
    expect(fake.counts.image).toBe(0);
  });

  it('403 (permission denied / certificate missing): permission_denied, not retried', async () => {
    fake.faults.inject({ kind: 'status', status: 403, body: { error: 'permission denied' } });
    const error = await rejection(backend().detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'permission_denied', retryable: false });
    expect(fake.counts.image).toBe(1);
  });

  it('413 above the size limit: too_large, not retried', async () => {
    const image = await makeImage('png', { width: 200, height: 200, noise: true });
    expect(image.bytes.length).toBeGreaterThan(50_000);
    const error = await rejection(backend().detect(image));
    expect(error).toMatchObject({ code: 'too_large', retryable: false });
    expect(fake.counts.image).toBe(1);
  });

  it('429 honours Retry-After, then succeeds', async () => {
    fake.faults.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3' } });
    const result = await backend().detect(await makeImage('png'));
    expect(result.backends).toEqual(['bitmind']);
    expect(clock.sleeps).toEqual([3000]);
    expect(fake.counts.image).toBe(2);
  });

  it('429 that persists: rate_limited, retryable, carrying the delay for the queue', async () => {
    fake.faults.inject({ kind: 'status', status: 429, headers: { 'retry-after': '2' } }, 5);
    const error = await rejection(backend().detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterSeconds: 2 });
    expect(fake.counts.image).toBe(3);
  });

  it('a Retry-After beyond the deadline ends the call at once', async () => {
    fake.faults.inject({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const error = await rejection(backend().detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 120 });
    expect(fake.counts.image).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('5xx is retried with exponential backoff', async () => {
    fake.faults.inject({ kind: 'status', status: 500 }, 2);
    const result = await backend().detect(await makeImage('png'));
    expect(result.models_succeeded).toBe(1);
    expect(fake.counts.image).toBe(3);
    // equal jitter with random() = 0.5: 3/4 of 10 ms, then of 20 ms
    expect(clock.sleeps).toEqual([7.5, 15]);
  });

  it('5xx that persists: retryable remote error after the bounded retries', async () => {
    fake.faults.inject({ kind: 'status', status: 503 }, 3);
    const error = await rejection(backend().detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'remote_unavailable', retryable: true });
    expect(fake.counts.image).toBe(3);
  });

  it('a hanging server times out; the retry succeeds', async () => {
    fake.faults.inject({ kind: 'hang' });
    const result = await backend({ retry: { ...TEST_RETRY, attemptTimeoutMs: 1000 } }).detect(await makeImage('png'));
    expect(result.backends).toEqual(['bitmind']);
    expect(fake.counts.image).toBe(2);
  });

  it('a server that keeps hanging: timeout, retryable', async () => {
    fake.faults.inject({ kind: 'hang' }, 3);
    const error = await rejection(backend({ retry: { ...TEST_RETRY, attemptTimeoutMs: 200 } }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(fake.counts.image).toBe(3);
  });

  it('malformed JSON is invalid_response, retried', async () => {
    fake.faults.inject({ kind: 'malformed' });
    await expect(backend().detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bitmind'] });
    fake.faults.inject({ kind: 'malformed' }, 3);
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'invalid_response', retryable: true });
  });

  it('a confidence outside [0, 1] is invalid_response', async () => {
    fake.faults.inject({ kind: 'status', status: 200, body: { isAI: true, confidence: 1.7 } }, 3);
    await expect(backend().detect(await makeImage('png'))).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('an unexpected 404 (wrong base URL) is a non-retryable remote_error naming BITMIND_BASE_URL', async () => {
    const error = await rejection(backend({ baseUrl: `${fake.url}/nope/` }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'remote_error', retryable: false });
    expect(error.message).toContain('BITMIND_BASE_URL');
  });

  it('an unreachable server is remote_unavailable, retryable', async () => {
    const url = fake.url;
    await fake.close();
    const error = await rejection(backend({ baseUrl: url }).detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'remote_unavailable', retryable: true });
    fake = await FakeBitmindServer.start({ apiKeys: [API_KEY] });
  });

  it("the caller's abort ends a hanging call, not retryable", async () => {
    fake.faults.inject({ kind: 'hang' }, 3);
    const controller = new AbortController();
    const pending = backend({ retry: { ...TEST_RETRY, attemptTimeoutMs: 20_000 } }).detect(await makeImage('png'), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ code: 'timeout', retryable: false });
    expect(fake.counts.image).toBe(1);
  });
});
