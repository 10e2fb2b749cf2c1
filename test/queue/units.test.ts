import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { userMessage } from '../../src/queue/failure-message.js';
import { genguardBackoff } from '../../src/queue/genguard-backoff.js';
import { bandProbes, hammingDistance, hashBands, MIN_DETAIL, perceptualHash } from '../../src/queue/perceptual-hash.js';
import { laneFor } from '../../src/queue/queue-layout.js';
import { parseScanJob, scanJobId } from '../../src/queue/scan-job.js';
import { scanInput, syntheticImage } from './helpers/fakes.js';

const photo = (name: string) =>
  new URL(`../../../shared/datasets/dev-eval/e4-declan-wright/normalized/${name}`, import.meta.url).pathname;

describe('perceptual hash', () => {
  it('stays within a few bits across re-encoding and resizing, and far from other photos', async () => {
    const original = await sharp(photo('real/B1.jpg')).toBuffer();
    const base = await perceptualHash(original);
    expect(base.hex).toMatch(/^[0-9a-f]{16}$/);
    expect(base.aspect).toBeCloseTo(1024 / 768, 3);
    const variants = [
      await sharp(original).jpeg({ quality: 30 }).toBuffer(),
      await sharp(original).resize(400).webp({ quality: 70 }).toBuffer(),
      await sharp(original).resize(700).png().toBuffer(),
    ];
    for (const v of variants) expect(hammingDistance(base.hex, (await perceptualHash(v)).hex)).toBeLessThanOrEqual(4);
    const other = await perceptualHash(await sharp(photo('ai/A26.jpg')).toBuffer());
    expect(hammingDistance(base.hex, other.hex)).toBeGreaterThan(10);
  });

  it('applies EXIF orientation before hashing', async () => {
    const img = await syntheticImage(3, 300, 200);
    const rotated = await sharp(img).rotate(90).jpeg().toBuffer();
    const tagged = await sharp(img).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const a = await perceptualHash(rotated);
    const b = await perceptualHash(tagged);
    expect(b.aspect).toBeCloseTo(200 / 300, 3);
    expect(hammingDistance(a.hex, b.hex)).toBeLessThanOrEqual(4);
  });

  it('marks flat pictures as too plain to match', async () => {
    const flat = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
    expect((await perceptualHash(flat)).detail).toBeLessThan(MIN_DETAIL);
  });

  it('band probes cover every hash within distance 7', () => {
    const a = 'f0e1d2c3b4a59687';
    // flip 7 bits spread so that one band has a single flip
    let b = BigInt(`0x${a}`);
    for (const bit of [0, 1, 16, 17, 32, 33, 48]) b ^= 1n << BigInt(bit);
    const bHex = b.toString(16).padStart(16, '0');
    expect(hammingDistance(a, bHex)).toBe(7);
    const found = hashBands(a).some((band, i) => bandProbes(band).includes(hashBands(bHex)[i]!));
    expect(found).toBe(true);
    expect(bandProbes('0000')).toHaveLength(17);
  });
});

describe('backoff', () => {
  it('doubles per attempt with jitter and honours Retry-After', async () => {
    const backoff = genguardBackoff(1_000, () => 0.5);
    expect(await backoff(1, 'genguard', new Error('x'))).toBe(1_000);
    expect(await backoff(3, 'genguard', new Error('x'))).toBe(4_000);
    const limited = new GenguardError('rate_limited', '429', { retryAfterSeconds: 30 });
    expect(await backoff(1, 'genguard', limited)).toBe(30_000);
    expect(await backoff(30, 'genguard', new Error('x'))).toBe(600_000);
  });
});

describe('scan jobs', () => {
  it('builds key-safe ids and routes lanes', () => {
    expect(scanJobId('discord', '123', '456', '789')).toBe('discord-123-456-789');
    expect(scanJobId('slack', 'T1', 'C1', '1712345678.000100')).toBe('slack-T1-C1-1712345678.000100');
    expect(scanJobId('x', 'a:b')).toBe('x-a_b');
    const long = scanJobId('slack', 'x'.repeat(200));
    expect(long).toMatch(/^h-[0-9a-f]{40}$/);
    expect(scanJobId('slack', 'x'.repeat(200))).toBe(long);

    const job = parseScanJob(scanInput('j1', 'https://cdn.discordapp.com/a.png'));
    expect(job.deep).toBe(false);
    expect(laneFor(job, 'local')).toBe('detect');
    expect(laneFor(job, 'bijou')).toBe('remote');
    expect(laneFor({ ...job, backend: 'local' }, 'bijou')).toBe('detect');
    expect(laneFor({ ...job, deep: true }, 'local')).toBe('slow');
    expect(laneFor({ ...job, deep: true }, 'cascade')).toBe('slow');
    expect(laneFor({ ...job, deep: true }, 'bijou')).toBe('remote');
  });

  it('rejects bad jobs with bad_request', () => {
    expect(() => parseScanJob({ ...scanInput('ok', 'https://x/y.png'), reply: { kind: 'pigeon' } })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    );
    expect(() => parseScanJob({ ...scanInput('ok', 'https://x/y.png'), platform: 'irc' })).toThrow(GenguardError);
    expect(() =>
      parseScanJob(scanInput('ok', 'https://x/y.png', { reply: { kind: 'response_url', url: 'http://insecure/' } })),
    ).toThrow(GenguardError);
  });

  it('has a user message for every failure', () => {
    expect(userMessage('unsupported_format')).toMatch(/file type/);
    expect(userMessage('out_of_credits')).toMatch(/credits/);
    expect(userMessage('internal')).toMatch(/try again/);
  });
});

describe('queue configuration', () => {
  it('has documented defaults', () => {
    const q = loadConfig({}).queue;
    expect(q.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(q.prefix).toBe('genguard');
    expect(q.cache).toEqual({ enabled: true, ttlSeconds: 7 * 86_400, phashDistance: 4 });
    expect(q.remoteRateLimit).toEqual({ max: 100, durationMs: 60_000 });
    expect(q.timeouts.modelMs).toEqual({});
    expect(q.metrics.port).toBe(9464);
  });

  it('parses overrides and rejects nonsense', () => {
    const q = loadConfig({
      REDIS_URL: 'redis://redis:6380/2',
      GENGUARD_QUEUE_PREFIX: 'prod-eu',
      GENGUARD_CACHE: 'off',
      GENGUARD_MODEL_TIMEOUTS: 'aeroblade=240000, univfd=90000',
      GENGUARD_REMOTE_RATE_MAX: '0',
      GENGUARD_WORKER_CONCURRENCY: '6',
    }).queue;
    expect(q.cache.enabled).toBe(false);
    expect(q.timeouts.modelMs).toEqual({ aeroblade: 240_000, univfd: 90_000 });
    expect(q.remoteRateLimit).toBeNull();
    expect(q.concurrency.detect).toBe(6);
    expect(() => loadConfig({ GENGUARD_MODEL_TIMEOUTS: 'aeroblade' })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    expect(() => loadConfig({ GENGUARD_QUEUE_PREFIX: 'a:b' })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    expect(() => loadConfig({ GENGUARD_CACHE_PHASH_DISTANCE: '9' })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });
});
