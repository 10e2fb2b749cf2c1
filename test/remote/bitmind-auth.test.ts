import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BitmindBackend } from '../../src/detector/remote/bitmind-backend.js';
import type { BitmindCredentials } from '../../src/detector/remote/bitmind-auth.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { demoCertificatePem } from '../fakes/bitmind/demo-certificate.js';
import { fakeScore } from '../fakes/bitmind/fake-http.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { CapturingLogger, ManualClock, makeImage, rejection, TEST_RETRY } from './helpers.js';

const SECRET = 'oauth-secret-4f9a1c77';
const API_KEY = 'org-key-9b8c7d6e5f';
const PEM = demoCertificatePem();
const PEM_B64 = Buffer.from(PEM).toString('base64');

describe('BitMind authentication', () => {
  let clock: ManualClock;
  let fake: FakeBitmindServer;
  const backends: BitmindBackend[] = [];

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeBitmindServer.start({
      clients: [
        { clientId: 'client-1', clientSecret: SECRET },
        { clientId: 'client-mtls', certificatePem: PEM },
      ],
      apiKeys: [API_KEY],
      now: clock.now,
    });
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await fake.close();
  });

  function backend(credentials: BitmindCredentials, logger?: CapturingLogger): BitmindBackend {
    const b = new BitmindBackend({
      credentials,
      baseUrl: fake.url,
      retry: TEST_RETRY,
      clock,
      ...(logger ? { logger } : {}),
    });
    backends.push(b);
    return b;
  }

  const oauth: BitmindCredentials = { method: 'oauth', clientId: 'client-1', clientSecret: SECRET };

  it('OAuth client credentials: one token, cached across calls, sent as Bearer', async () => {
    const b = backend(oauth);
    const image = await makeImage('png', { seed: 3 });
    const result = await b.detect(image);
    await b.detect(image);
    await b.detect(image);
    expect(fake.counts.token).toBe(1);
    expect(fake.counts.image).toBe(3);
    expect(result.model_results['bitmind']?.score).toBe(fakeScore(image.bytes, 'bitmind'));
    const tokenReq = fake.requests.find((r) => r.path === '/v1/oauth/token');
    expect(tokenReq?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const imageReq = fake.requests.find((r) => r.path === '/image');
    expect(imageReq?.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('refreshes the token shortly before its 1 h expiry, without a 401 first', async () => {
    const b = backend(oauth);
    const image = await makeImage('png');
    await b.detect(image);
    clock.advance(3_600_000 - 30_000); // 30 s before expiry: inside the refresh margin
    await b.detect(image);
    expect(fake.counts.token).toBe(2);
    expect(fake.counts.image).toBe(2); // no rejected call was needed
  });

  it('a token that expires mid-run (401) is re-fetched once and the call retried', async () => {
    const b = backend(oauth);
    const image = await makeImage('png');
    await b.detect(image);
    fake.expireTokens();
    const result = await b.detect(image);
    expect(result.verdict).toBeDefined();
    expect(fake.counts.token).toBe(2);
    expect(fake.counts.image).toBe(3);
  });

  it('ten concurrent calls share one token request, and one refresh after expiry', async () => {
    await fake.close();
    fake = await FakeBitmindServer.start({ clients: [{ clientId: 'client-1', clientSecret: SECRET }], now: clock.now, tokenDelayMs: 50 });
    const b = backend(oauth);
    const images = await Promise.all(Array.from({ length: 10 }, (_, i) => makeImage('png', { seed: i + 10 })));
    const first = await Promise.all(images.map((img) => b.detect(img)));
    expect(first).toHaveLength(10);
    expect(fake.counts.token).toBe(1);
    fake.expireTokens();
    const second = await Promise.all(images.map((img) => b.detect(img)));
    expect(second.every((r) => r.backends?.[0] === 'bitmind')).toBe(true);
    expect(fake.counts.token).toBe(2);
    expect(fake.counts.image).toBe(30); // 10 + 10 rejected with 401 + 10 retried
  });

  it('a 401 that persists after the re-fetch is a non-retryable auth_failed', async () => {
    const b = backend(oauth);
    const image = await makeImage('png');
    await b.detect(image);
    fake.revokeClient('client-1');
    const error = await rejection(b.detect(image));
    expect(error).toBeInstanceOf(GenguardError);
    expect(error).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(error.message).toContain('BITMIND_CLIENT_SECRET');
    expect(fake.counts.token).toBe(2);
  });

  it('a wrong client secret fails at the token endpoint with auth_failed, not retried', async () => {
    const b = backend({ method: 'oauth', clientId: 'client-1', clientSecret: 'wrong-secret-000' });
    const error = await rejection(b.detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(fake.counts.token).toBe(1);
    expect(fake.counts.image).toBe(0);
  });

  it('OAuth + mTLS: X-Client-Cert instead of a secret on the token request, and on every call', async () => {
    const b = backend({ method: 'mtls', clientId: 'client-mtls', certificatePem: PEM });
    const image = await makeImage('jpeg');
    await b.detect(image);
    await b.detect(image);
    const tokenReqs = fake.requests.filter((r) => r.path === '/v1/oauth/token');
    const imageReqs = fake.requests.filter((r) => r.path === '/image');
    expect(tokenReqs).toHaveLength(1);
    expect(imageReqs).toHaveLength(2);
    for (const r of [...tokenReqs, ...imageReqs]) expect(r.headers['x-client-cert']).toBe(PEM_B64);
  });

  it('the fake refuses an mTLS token request without the certificate (401)', async () => {
    const b = backend({ method: 'oauth', clientId: 'client-mtls', clientSecret: 'no-such-secret' });
    const error = await rejection(b.detect(await makeImage('png')));
    expect(error).toMatchObject({ code: 'auth_failed' });
  });

  it('legacy key: Bearer enterprise-<key>, no token endpoint', async () => {
    const b = backend({ method: 'api_key', apiKey: API_KEY });
    await b.detect(await makeImage('webp'));
    expect(fake.counts.token).toBe(0);
    expect(fake.requests.find((r) => r.path === '/image')?.headers.authorization).toBe(`Bearer enterprise-${API_KEY}`);
  });

  it('a revoked key is auth_failed at once: no refresh, no retry', async () => {
    const b = backend({ method: 'api_key', apiKey: API_KEY });
    const image = await makeImage('png');
    await b.detect(image);
    fake.revokeApiKey(API_KEY);
    const error = await rejection(b.detect(image));
    expect(error).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(error.message).toContain('BITMIND_API_KEY');
    expect(fake.counts.image).toBe(2);
    expect(fake.counts.token).toBe(0);
  });

  it('redacts secrets a server echoes back in an error body', async () => {
    const logger = new CapturingLogger();
    const b = backend({ method: 'mtls', clientId: 'client-mtls', certificatePem: PEM }, logger);
    const image = await makeImage('png');
    await b.detect(image);
    const token = fake.requests.at(-1)?.headers.authorization?.replace(/^Bearer /, '') ?? 'missing';
    fake.faults.inject({ kind: 'status', status: 400, body: { error: `got token ${token} and cert ${PEM_B64}` } });
    const error = await rejection(b.detect(image));
    expect(error.message).toContain('[redacted]');
    for (const text of [error.message, ...logger.lines]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(PEM_B64.slice(0, 40));
    }
    const k = backend({ method: 'api_key', apiKey: API_KEY }, logger);
    fake.faults.inject({ kind: 'status', status: 400, body: { error: `unknown key ${API_KEY}` } });
    const keyError = await rejection(k.detect(image));
    expect(keyError.message).toBe('bitmind rejected the image (400): {"error":"unknown key [redacted]"}');
  });

  it('never logs or reports secrets, tokens or certificate contents', async () => {
    const logger = new CapturingLogger();
    const image = await makeImage('png');
    const errors: unknown[] = [];
    const o = backend(oauth, logger);
    await o.detect(image);
    fake.revokeClient('client-1');
    errors.push(await rejection(o.detect(image)));
    const m = backend({ method: 'mtls', clientId: 'client-mtls', certificatePem: PEM }, logger);
    await m.detect(image);
    fake.faults.inject({ kind: 'status', status: 500 }, 3);
    errors.push(await rejection(m.detect(image)));
    const k = backend({ method: 'api_key', apiKey: API_KEY }, logger);
    fake.revokeApiKey(API_KEY);
    errors.push(await rejection(k.detect(image)));

    const tokens = fake.requests
      .map((r) => r.headers.authorization?.replace(/^Bearer /, ''))
      .filter((t): t is string => t !== undefined);
    expect(tokens.length).toBeGreaterThan(3);
    const secrets = [SECRET, API_KEY, PEM_B64, ...PEM.split('\n').filter((l) => l.length > 20), ...tokens];
    const text = [
      ...logger.lines,
      ...errors.map((e) => JSON.stringify({ m: (e as Error).message, d: (e as GenguardError).details })),
    ].join('\n');
    expect(logger.lines.length).toBeGreaterThan(0);
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
