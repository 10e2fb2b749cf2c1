import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BijouBackend } from '../../src/detector/remote/bijou-backend.js';
import { BIJOU_MAX_IMAGE_BYTES, prepareForBijou } from '../../src/detector/remote/bijou-image-prep.js';
import { InProcessRateLimiter } from '../../src/detector/remote/rate-limiter.js';
import { FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { makeImage, TEST_RETRY } from './helpers.js';

const KEY = 'bijou_prep_key_42';

describe("Bijou's limits are met before sending", () => {
  let fake: FakeBijouServer;
  let backend: BijouBackend;

  beforeAll(async () => {
    fake = await FakeBijouServer.start({ apiKeys: [KEY] });
    backend = new BijouBackend({
      baseUrl: fake.url,
      apiKey: KEY,
      retry: TEST_RETRY,
      rateLimiter: new InProcessRateLimiter(100, 60_000),
    });
  });

  afterAll(async () => {
    await backend.close();
    await fake.close();
  });

  it('JPG, PNG and WebP go as they are', async () => {
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const image = await makeImage(format);
      const prepared = await prepareForBijou(image);
      expect(prepared.bytes).toBe(image.bytes);
      expect(prepared.notes).toEqual([]);
    }
  });

  it.each(['gif', 'avif', 'tiff'] as const)('%s is converted to PNG and accepted, with a note', async (format) => {
    const image = await makeImage(format, { width: 40, height: 30, seed: 7 });
    const before = fake.requests.length;
    const result = await backend.detect(image);
    expect(fake.requests[before]).toMatchObject({ format: 'png', status: 200 });
    expect(result.notes?.[0]).toBe(`converted ${format.toUpperCase()} to PNG for Bijou (it accepts JPG, PNG and WebP only)`);
    const meta = await sharp((await prepareForBijou(image)).bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 40, 30]);
  });

  it('the fake itself refuses a GIF (the conversion is what makes it pass)', async () => {
    const gif = await makeImage('gif');
    const res = await fetch(`${fake.url}/api/detect`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ image: gif.bytes.toString('base64'), consent: false }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ statusCode: 400, body: { error: 'Unsupported image format: use JPG, PNG or WebP', field: 'image' } });
  });

  it('an image over 10 MB is re-encoded to fit, and the result says so', async () => {
    const image = await makeImage('png', { width: 2000, height: 1800, noise: true });
    expect(image.bytes.length).toBeGreaterThan(10 * 1024 * 1024);
    const before = fake.requests.length;
    const result = await backend.detect(image);
    const sent = fake.requests[before];
    expect(sent?.status).toBe(200);
    expect(sent?.format).toBe('jpeg');
    expect(sent?.imageBytes).toBeLessThanOrEqual(BIJOU_MAX_IMAGE_BYTES);
    expect(result.notes?.[0]).toMatch(/^re-encoded as JPEG \(quality 92\) to fit Bijou's 10\.0 MB limit \(\d+\.\d MB → \d+\.\d MB\)$/);
  });

  it('the fake refuses the same image sent unprepared', async () => {
    const image = await makeImage('png', { width: 2000, height: 1800, noise: true });
    const res = await fetch(`${fake.url}/api/detect`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ image: image.bytes.toString('base64') }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { body: { error: string } }).body.error).toContain('10 MB');
  });

  it('downscales when re-encoding is not enough, and reports the new size', async () => {
    const image = await makeImage('jpeg', { width: 600, height: 400, noise: true, quality: 100 });
    const limit = 120_000;
    expect(image.bytes.length).toBeGreaterThan(limit);
    const prepared = await prepareForBijou(image, limit);
    expect(prepared.bytes.length).toBeLessThanOrEqual(limit);
    const meta = await sharp(prepared.bytes).metadata();
    expect(meta.width).toBeLessThan(600);
    expect(prepared.notes[0]).toContain(`downscaled from 600×400 to ${meta.width}×${meta.height}`);
  });

  it('keeps transparency by re-encoding as WebP', async () => {
    const image = await makeImage('png', { width: 300, height: 300, noise: true, alpha: true });
    const prepared = await prepareForBijou(image, Math.floor(image.bytes.length / 2));
    expect(prepared.format).toBe('webp');
    expect((await sharp(prepared.bytes).metadata()).hasAlpha).toBe(true);
  });

  it('bytes that cannot be decoded are decode_failed', async () => {
    const image = { ...(await makeImage('gif')), bytes: Buffer.from('GIF89a-broken') };
    await expect(prepareForBijou(image)).rejects.toMatchObject({ code: 'decode_failed' });
  });
});
