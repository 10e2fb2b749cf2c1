import sharp from 'sharp';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_QUEUE_NAME } from '../../src/queue/api-job.js';
import { ScriptedBackend, fakeResult, steps, syntheticImage } from '../queue/helpers/fakes.js';
import { TestRedis } from '../queue/helpers/redis-server.js';
import { ApiTestStack, type StackOptions } from './helpers/api-stack.js';
import { OpenApiValidator } from './helpers/openapi-validator.js';

const redis = new TestRedis();
let png: Buffer;
let validator: OpenApiValidator;
const stacks: ApiTestStack[] = [];

beforeAll(async () => {
  await redis.start();
  png = await sharp(await syntheticImage(3, 96, 64)).png().toBuffer();
});
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await redis.destroy();
  // Every response the tests checked, for the record: the document covers them all.
  expect(validator?.checked.size ?? 0).toBeGreaterThan(10);
});

async function stack(backend = new ScriptedBackend(0.82), options: Partial<StackOptions> = {}): Promise<ApiTestStack> {
  const s = await new ApiTestStack({ redisUrl: redis.url, backend, ...options }).start();
  stacks.push(s);
  if (!validator) {
    const doc = await request(`${s.url}/openapi.json`);
    expect(doc.statusCode).toBe(200);
    validator = new OpenApiValidator(await doc.body.json());
  }
  return s;
}

type Sent = { status: number; headers: Record<string, string | string[] | undefined>; body: any };

/** POSTs and checks the answer against the OpenAPI document before the test looks at it. */
async function post(s: ApiTestStack, path: '/image' | '/api/detect', body: Buffer | string, headers: Record<string, string> = {}): Promise<Sent> {
  const res = await request(`${s.url}${path}`, { method: 'POST', body, headers });
  const json = await res.body.json();
  validator.check(path, 'POST', res.statusCode, json);
  return { status: res.statusCode, headers: res.headers, body: json };
}

const detectJson = (bytes: Buffer, extra: Record<string, unknown> = {}) => JSON.stringify({ image: bytes.toString('base64'), ...extra });

describe('genguard serve: BitMind shape (POST /image)', () => {
  it('answers {isAI, confidence, processingTime} for a raw image body with X-Api-Key', async () => {
    const backend = new ScriptedBackend([() => fakeResult(0.82, 'fake', 40)]);
    const s = await stack(backend);
    const { key } = await s.keys.create('bitmind-client');
    const res = await post(s, '/image', png, { 'x-api-key': key, 'content-type': 'application/octet-stream' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ isAI: true, confidence: 0.82, processingTime: 0.04 });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(backend.calls).toBe(1);
    expect(backend.images[0]!.sha256).toHaveLength(64);
  });

  it('accepts BitMind\'s Bearer enterprise-<key> form and says isAI false below 0.5', async () => {
    const s = await stack(new ScriptedBackend(0.3));
    const { key } = await s.keys.create('legacy');
    const res = await post(s, '/image', png, { authorization: `Bearer enterprise-${key}` });
    expect(res.status).toBe(200);
    expect(res.body.isAI).toBe(false);
    expect(res.body.confidence).toBe(0.3);
  });

  it('refuses a missing, a malformed, an unknown and a revoked key with 401/401/401/403', async () => {
    const s = await stack();
    const { key, info } = await s.keys.create('soon-revoked');
    const other = (await s.keys.create('other')).key;
    const unknown = other.slice(0, -4) + (other.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await s.keys.revoke(info.id);
    expect((await post(s, '/image', png)).status).toBe(401);
    expect((await post(s, '/image', png, { 'x-api-key': 'not-a-key' })).status).toBe(401);
    const wrong = await post(s, '/image', png, { authorization: `Bearer ${unknown}` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('auth_failed');
    const revoked = await post(s, '/image', png, { 'x-api-key': key });
    expect(revoked.status).toBe(403);
    expect(revoked.body).toMatchObject({ code: 'permission_denied', request_id: revoked.headers['x-request-id'] });
  });

  it('answers 400 for bytes that are not an image, without queueing them', async () => {
    const backend = new ScriptedBackend(0.5);
    const s = await stack(backend);
    const { key } = await s.keys.create('c');
    const res = await post(s, '/image', Buffer.from('%PDF-1.7 definitely not an image'), { 'x-api-key': key });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('unsupported_format');
    expect(backend.calls).toBe(0);
    expect(await s.api.submitter.queue.getJobCountByTypes('completed', 'failed', 'waiting', 'active')).toBe(0);
  });

  it('answers 413 above GENGUARD_MAX_BYTES and closes the connection', async () => {
    const s = await stack(new ScriptedBackend(0.5), { env: { GENGUARD_MAX_BYTES: String(png.length - 1) } });
    const { key } = await s.keys.create('c');
    const res = await post(s, '/image', png, { 'x-api-key': key });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('too_large');
    expect(res.headers.connection).toBe('close');
  });
});

describe('genguard serve: Bijou shape (POST /api/detect)', () => {
  it('answers {statusCode, body: {data}} with every ensemble field; consent is ignored', async () => {
    const s = await stack(new ScriptedBackend([() => ({ ...fakeResult(0.91, 'npr', 12), model_notes: { provenance: { status: 'abstained', code: 'no_metadata', reason: 'none' } } })]));
    const { key } = await s.keys.create('bijou-client');
    const res = await post(s, '/api/detect', detectJson(png, { consent: true }), { 'x-api-key': key, 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.body.statusCode).toBe(200);
    expect(res.body.body.data).toEqual({
      prediction: 'ai',
      confidence: 0.91,
      ensemble_score: 0.91,
      verdict: 'ai_generated',
      models_succeeded: 1,
      models_total: 1,
      model_results: { npr: { score: 0.91, latency_ms: 12 } },
      detection_latency_ms: 12,
      stored: false,
      s3_key: null,
      research_image_key: null,
      research_result_key: null,
      model_notes: { provenance: { status: 'abstained', code: 'no_metadata', reason: 'none' } },
    });
  });

  it('accepts a data: URL and Authorization: Bearer', async () => {
    const s = await stack(new ScriptedBackend(0.2));
    const { key } = await s.keys.create('c');
    const res = await post(s, '/api/detect', JSON.stringify({ image: `data:image/png;base64,${png.toString('base64')}` }), { authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    expect(res.body.body.data.verdict).toBe('likely_real');
  });

  it('answers errors in Bijou\'s wrapper: bad base64, bad JSON, missing image, bad consent, no key', async () => {
    const s = await stack();
    const { key } = await s.keys.create('c');
    const h = { 'x-api-key': key };
    const b64 = await post(s, '/api/detect', JSON.stringify({ image: '***not base64***' }), h);
    expect(b64).toMatchObject({ status: 400, body: { statusCode: 400, body: { error: 'Invalid base64 image', field: 'image', code: 'BAD_REQUEST' } } });
    const json = await post(s, '/api/detect', '{"image": ', h);
    expect(json.status).toBe(400);
    expect(json.body.body.error).toBe('Invalid JSON body');
    expect(json.body.body.field).toBeUndefined();
    expect((await post(s, '/api/detect', '{}', h)).body.body.field).toBe('image');
    expect((await post(s, '/api/detect', detectJson(png, { consent: 'yes' }), h)).body.body.field).toBe('consent');
    const anon = await post(s, '/api/detect', detectJson(png));
    expect(anon.body).toMatchObject({ statusCode: 401, body: { code: 'AUTH_FAILED' } });
    const notImage = await post(s, '/api/detect', detectJson(Buffer.from('plain text, no picture')), h);
    expect(notImage.body).toMatchObject({ statusCode: 400, body: { code: 'UNSUPPORTED_FORMAT', field: 'image' } });
  });

  it('answers 413 when the decoded image is above GENGUARD_MAX_BYTES', async () => {
    const s = await stack(new ScriptedBackend(0.5), { env: { GENGUARD_MAX_BYTES: String(png.length - 1) } });
    const { key } = await s.keys.create('c');
    const res = await post(s, '/api/detect', detectJson(png), { 'x-api-key': key });
    expect(res.body).toMatchObject({ statusCode: 413, body: { code: 'TOO_LARGE', field: 'image' } });
  });
});

describe('genguard serve: limits, queue and operations', () => {
  it('rate-limits per key (429 with Retry-After and retry_after) without touching other keys', async () => {
    const s = await stack();
    const limited = (await s.keys.create('limited', { rateLimitPerMinute: 2 })).key;
    const free = (await s.keys.create('free')).key;
    expect((await post(s, '/image', png, { 'x-api-key': limited })).status).toBe(200);
    expect((await post(s, '/image', png, { 'x-api-key': limited })).status).toBe(200);
    const third = await post(s, '/api/detect', detectJson(png), { 'x-api-key': limited });
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(third.body.body.retry_after).toBe(Number(third.headers['retry-after']));
    const bitmind = await post(s, '/image', png, { 'x-api-key': limited });
    expect(bitmind.body.code).toBe('rate_limited');
    expect((await post(s, '/image', png, { 'x-api-key': free })).status).toBe(200);
  });

  it('keeps image bytes out of job data and deletes them after answering; repeats come from the cache', async () => {
    const backend = new ScriptedBackend(0.75);
    const s = await stack(backend);
    const { key } = await s.keys.create('c');
    const first = await post(s, '/image', png, { 'x-api-key': key });
    const second = await post(s, '/api/detect', detectJson(png), { 'x-api-key': key });
    expect(first.headers['x-genguard-cache']).toBe('miss');
    expect(second.headers['x-genguard-cache']).toBe('exact');
    expect(backend.calls).toBe(1);
    const client = redis.client();
    try {
      const id = String(first.headers['x-request-id']);
      const data = await client.hget(`${s.prefix}:${API_QUEUE_NAME}:${id}`, 'data');
      expect(JSON.parse(data!)).toMatchObject({ requestId: id, imageKey: `${s.prefix}:api:image:${id}`, route: 'bitmind' });
      expect(data!.length).toBeLessThan(400);
      expect(data).not.toContain(png.subarray(0, 12).toString('base64'));
      expect(await client.keys(`${s.prefix}:api:image:*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('answers 504 when no worker answers in time, and leaves neither the bytes nor the job behind', async () => {
    const s = await stack(new ScriptedBackend(0.5), { worker: false, env: { GENGUARD_API_TIMEOUT_MS: '1000' } });
    const { key } = await s.keys.create('c');
    const res = await post(s, '/api/detect', detectJson(png), { 'x-api-key': key });
    expect(res.body).toMatchObject({ statusCode: 504, body: { code: 'TIMEOUT' } });
    const client = redis.client();
    try {
      expect(await client.keys(`${s.prefix}:api:image:*`)).toEqual([]);
      expect(await s.api.submitter.queue.getJobCountByTypes('waiting', 'prioritized')).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('maps worker-side failures to the contract\'s statuses without leaking their detail', async () => {
    const backend = new ScriptedBackend([steps.fail('remote_unavailable', false), steps.fail('no_model_succeeded')]);
    const s = await stack(backend, { env: { GENGUARD_CACHE: 'off' } });
    const { key } = await s.keys.create('c');
    const remote = await post(s, '/image', png, { 'x-api-key': key });
    expect(remote.status).toBe(502);
    expect(remote.body.error).not.toContain('scripted');
    // Another picture: the same one would share the first failure (InflightDedupe shares final failures).
    const other = await sharp(await syntheticImage(4, 96, 64)).png().toBuffer();
    const none = await post(s, '/api/detect', detectJson(other), { 'x-api-key': key });
    expect(none.body).toMatchObject({ statusCode: 500, body: { code: 'NO_MODEL_SUCCEEDED', error: 'detection failed' } });
  });

  it('serves many requests at once through the queue', async () => {
    const s = await stack(new ScriptedBackend([steps.sleep(30, 0.6)]), { env: { GENGUARD_CACHE: 'off' } });
    const { key } = await s.keys.create('c');
    const images = await Promise.all(Array.from({ length: 12 }, async (_, i) => sharp(await syntheticImage(10 + i, 64, 48)).png().toBuffer()));
    const answers = await Promise.all(images.map((img, i) => post(s, i % 2 ? '/image' : '/api/detect', i % 2 ? img : detectJson(img), { 'x-api-key': key })));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
  });

  it('answers /health without auth, 404 and 405 in the route\'s shape, and exports HTTP and queue metrics', async () => {
    const s = await stack();
    const { key } = await s.keys.create('c');
    await post(s, '/image', png, { 'x-api-key': key });
    const health = await request(`${s.url}/health`);
    const healthBody = await health.body.json();
    validator.check('/health', 'GET', health.statusCode, healthBody);
    expect(healthBody).toEqual({ status: 'ok', redis: 'ok', workers: 1 });
    const missing = await request(`${s.url}/api/nothing`);
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as any).statusCode).toBe(404);
    const wrongMethod = await request(`${s.url}/image`);
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    validator.check('/image', 'POST', 405, await wrongMethod.body.json());
    const metrics = await (await request(`${s.url}/metrics`)).body.text();
    expect(metrics).toMatch(/genguard_http_requests_total\{method="POST",route="\/image",status="200"\} 1/);
    expect(metrics).toMatch(/genguard_http_request_duration_seconds_count\{method="POST",route="\/image"\} 1/);
    expect(metrics).toMatch(/genguard_http_requests_total\{method="GET",route="other",status="404"\} 1/);
    expect(metrics).toMatch(/genguard_queue_jobs\{queue="api",state="completed"\} 1/);
    expect(metrics).toMatch(/genguard_jobs_finished_total\{queue="api",outcome="completed"\} 1/);
  });
});
