import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessRateLimiter, sharedInProcessLimiter } from '../../src/detector/remote/rate-limiter.js';
import { RedisRateLimiter } from '../../src/detector/remote/redis-rate-limiter.js';
import { ManualClock } from './helpers.js';

describe('InProcessRateLimiter', () => {
  it('allows `limit` requests per sliding window and says how long until the next slot', async () => {
    const clock = new ManualClock();
    const limiter = new InProcessRateLimiter(3, 60_000, clock.now);
    expect(await limiter.tryTake()).toBe(0);
    clock.advance(10_000);
    expect(await limiter.tryTake()).toBe(0);
    expect(await limiter.tryTake()).toBe(0);
    expect(await limiter.tryTake()).toBe(50_000);
    clock.advance(50_000);
    expect(await limiter.tryTake()).toBe(0); // the first slot freed
    expect(await limiter.tryTake()).toBe(10_000);
  });

  it('one shared limiter per key in a process', () => {
    expect(sharedInProcessLimiter('k1', 100, 60_000)).toBe(sharedInProcessLimiter('k1', 100, 60_000));
    expect(sharedInProcessLimiter('k1', 100, 60_000)).not.toBe(sharedInProcessLimiter('k2', 100, 60_000));
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('RedisRateLimiter (real redis-server)', () => {
  let server: ChildProcess | undefined;
  let url: string;
  const clients: Redis[] = [];

  beforeAll(async () => {
    if (process.env['REDIS_URL']) {
      url = process.env['REDIS_URL'];
      return;
    }
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server is up: expected
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (error) {
        if (i > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    probe.disconnect();
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    if (server) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('two workers with their own connections share one budget', async () => {
    const key = `test:ratelimit:${process.pid}:${Date.now()}`;
    const a = new Redis(url);
    const b = new Redis(url);
    clients.push(a, b);
    const workerA = new RedisRateLimiter(a, { key, limit: 5, windowMs: 60_000 });
    const workerB = new RedisRateLimiter(b, { key, limit: 5, windowMs: 60_000 });
    const waits = await Promise.all([
      workerA.tryTake(),
      workerB.tryTake(),
      workerA.tryTake(),
      workerB.tryTake(),
      workerA.tryTake(),
      workerB.tryTake(),
      workerA.tryTake(),
    ]);
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    for (const w of waits.filter((w) => w !== 0)) {
      expect(w).toBeGreaterThan(55_000);
      expect(w).toBeLessThanOrEqual(60_000);
    }
    expect(await a.zcard(key)).toBe(5);
    expect(await a.pttl(key)).toBeGreaterThan(0);
  });

  it('a short window frees slots again', async () => {
    const key = `test:ratelimit-short:${process.pid}:${Date.now()}`;
    const c = new Redis(url);
    clients.push(c);
    const limiter = new RedisRateLimiter(c, { key, limit: 1, windowMs: 150 });
    expect(await limiter.tryTake()).toBe(0);
    const wait = await limiter.tryTake();
    expect(wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, wait + 20));
    expect(await limiter.tryTake()).toBe(0);
  });

  it('a Redis failure is a typed, retryable error', async () => {
    const broken = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    broken.on('error', () => {});
    clients.push(broken);
    const limiter = new RedisRateLimiter(broken, { key: 'x', limit: 1, windowMs: 1000 });
    await expect(limiter.tryTake()).rejects.toMatchObject({ code: 'queue_unavailable', retryable: true });
  });
});
