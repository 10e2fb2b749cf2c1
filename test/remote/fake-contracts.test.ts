/** The fakes must follow the vendor contracts, or every client test above proves nothing. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoCertificatePem } from '../fakes/bitmind/demo-certificate.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { ManualClock, makeImage } from './helpers.js';

const PEM = demoCertificatePem();
const CERT = Buffer.from(PEM).toString('base64');

describe('fake BitMind follows bitmind-image.md', () => {
  let clock: ManualClock;
  let fake: FakeBitmindServer;
  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeBitmindServer.start({
      clients: [
        { clientId: 'c', clientSecret: 'secret-c-123' },
        { clientId: 'm', certificatePem: PEM },
      ],
      now: clock.now,
    });
  });
  afterEach(() => fake.close());

  async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${fake.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }
  const image = (auth: Record<string, string>, body: Buffer) =>
    fetch(`${fake.url}/image`, { method: 'POST', headers: auth, body });

  it('token endpoint: form-encoded client credentials → a 1 h bearer JWT', async () => {
    const res = await token({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'secret-c-123' });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(String(json['access_token']).split('.')).toHaveLength(3);
    const asJson = await fetch(`${fake.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'secret-c-123' }),
    });
    expect(asJson.status).toBe(400);
    expect((await token({ grant_type: 'password', client_id: 'c' })).status).toBe(400);
    expect((await token({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'nope' })).status).toBe(401);
  });

  it('tokens expire after their lifetime (401)', async () => {
    const { access_token } = (await (await token({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'secret-c-123' })).json()) as {
      access_token: string;
    };
    const png = (await makeImage('png')).bytes;
    expect((await image({ authorization: `Bearer ${access_token}` }, png)).status).toBe(200);
    clock.advance(3_600_000);
    expect((await image({ authorization: `Bearer ${access_token}` }, png)).status).toBe(401);
    expect((await image({}, png)).status).toBe(401);
    expect((await image({ authorization: 'Bearer garbage.token.here' }, png)).status).toBe(401);
  });

  it('mTLS client: the certificate replaces the secret, and a call without it is 403', async () => {
    expect((await token({ grant_type: 'client_credentials', client_id: 'm' })).status).toBe(401);
    const res = await token({ grant_type: 'client_credentials', client_id: 'm' }, { 'x-client-cert': CERT });
    const { access_token } = (await res.json()) as { access_token: string };
    const png = (await makeImage('png')).bytes;
    expect((await image({ authorization: `Bearer ${access_token}` }, png)).status).toBe(403);
    expect((await image({ authorization: `Bearer ${access_token}`, 'x-client-cert': CERT }, png)).status).toBe(200);
  });

  it('/image: empty or non-image body 400; response {isAI, confidence, processingTime}', async () => {
    const { access_token } = (await (await token({ grant_type: 'client_credentials', client_id: 'c', client_secret: 'secret-c-123' })).json()) as {
      access_token: string;
    };
    const auth = { authorization: `Bearer ${access_token}` };
    expect((await image(auth, Buffer.alloc(0))).status).toBe(400);
    expect((await image(auth, Buffer.from('hello world'))).status).toBe(400);
    const res = await image(auth, (await makeImage('gif')).bytes);
    const json = (await res.json()) as { isAI: boolean; confidence: number; processingTime: number };
    expect(json.isAI).toBe(json.confidence >= 0.5);
    expect(json.processingTime).toBe(0.045);
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    expect((await fetch(`${fake.url}/status`)).status).toBe(401);
    expect((await fetch(`${fake.url}/status`, { headers: auth })).status).toBe(200);
  });

  it('413 above the limit', async () => {
    await fake.close();
    fake = await FakeBitmindServer.start({ apiKeys: ['k-123456'], maxImageBytes: 1000 });
    const res = await image({ authorization: 'Bearer enterprise-k-123456' }, Buffer.alloc(5000, 0xff));
    expect(res.status).toBe(413);
  });
});

describe('fake Bijou follows bijou-detect.md', () => {
  let clock: ManualClock;
  let fake: FakeBijouServer;
  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeBijouServer.start({ apiKeys: ['bijou_k'], credits: 2, now: clock.now });
  });
  afterEach(() => fake.close());

  const detect = (body: unknown, key = 'bijou_k') =>
    fetch(`${fake.url}/api/detect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as { statusCode: number; body: Record<string, unknown> } }));

  it('wraps results and errors in {statusCode, body}', async () => {
    const png = (await makeImage('png')).bytes.toString('base64');
    const ok = await detect({ image: png, consent: true });
    expect(ok.status).toBe(200);
    expect(ok.json.statusCode).toBe(200);
    expect(ok.json.body['data']).toMatchObject({ stored: true, models_total: 5, s3_key: expect.any(String) });
    const unstored = await detect({ image: png });
    expect(unstored.json.body['data']).toMatchObject({ stored: false, s3_key: null, research_image_key: null });
    expect(await detect({ image: png }, '')).toEqual({ status: 401, json: { statusCode: 401, body: { error: 'Invalid or missing API key' } } });
  });

  it('validates input: missing image, bad base64, wrong format, bad consent → 400', async () => {
    expect((await detect({})).status).toBe(400);
    expect((await detect('not json')).status).toBe(400);
    expect((await detect({ image: 'not*base64!' })).json.body).toMatchObject({ error: 'Invalid base64 image' });
    const tiff = (await makeImage('tiff')).bytes.toString('base64');
    expect((await detect({ image: tiff })).json.body['error']).toContain('Unsupported image format');
    const png = (await makeImage('png')).bytes.toString('base64');
    expect((await detect({ image: png, consent: 'yes' })).json.body).toMatchObject({ field: 'consent' });
  });

  it('spends one credit per detection, then 402 INSUFFICIENT_CREDITS', async () => {
    const png = (await makeImage('png')).bytes.toString('base64');
    expect((await detect({ image: png })).status).toBe(200);
    expect((await detect({ image: png })).status).toBe(200);
    const spent = await detect({ image: png });
    expect(spent.status).toBe(402);
    expect(spent.json.body).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
  });

  it('rate limit per minute → 429 with retry_after', async () => {
    await fake.close();
    fake = await FakeBijouServer.start({ apiKeys: ['bijou_k'], ratePerMinute: 4, now: clock.now });
    const png = (await makeImage('png')).bytes.toString('base64');
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      expect((await detect({ image: png })).status).toBe(200);
    }
    const limited = await detect({ image: png });
    expect(limited).toMatchObject({ status: 429, json: { statusCode: 429, body: { retry_after: 57 } } });
    clock.advance(57_000);
    expect((await detect({ image: png })).status).toBe(200);
  });
});
