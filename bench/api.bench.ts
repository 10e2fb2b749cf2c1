/**
 * Requests per second of the self-hosted API (`POST /api/detect`, Bijou shape) with the default
 * models and the result cache off, the way `genguard start` runs on one small machine: API server
 * and worker in one process, a private redis-server, concurrent HTTP clients.
 *
 * `npm run bench -- --only api [--requests N] [--clients N] [--api-concurrency N] [--set e4|e5]`
 * Images: the dev-eval `normalized` JPEGs (../shared/datasets), each sent once per round, so
 * nothing can be answered from a cache even if it were on.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { defaultCreateBackend } from '../src/cli/worker-command.js';
import { loadConfig, PACKAGE_ROOT } from '../src/config/load-config.js';
import { ImageLoader } from '../src/intake/image-loader.js';
import { QueueMetrics } from '../src/queue/queue-metrics.js';
import { MemoBackendProvider } from '../src/queue/worker-deps.js';
import { WorkerRuntime } from '../src/queue/worker-runtime.js';
import { ApiKeyStore } from '../src/server/api-key-store.js';
import { startApi } from '../src/server/create-api.js';
import { benchRedis } from './lib/bench-redis.js';
import { arg } from './lib/cli-args.js';
import { summarise } from './lib/measure.js';

const SETS: Record<string, string> = {
  e4: 'dev-eval/e4-declan-wright/normalized',
  e5: 'dev-eval/e5-ml72-playground/normalized',
};

async function images(set: string): Promise<Buffer[]> {
  const root = path.resolve(PACKAGE_ROOT, '../shared/datasets', SETS[set] ?? SETS['e5']!);
  const files: string[] = [];
  for (const label of await readdir(root)) {
    for (const f of await readdir(path.join(root, label))) if (/\.(jpe?g|png|webp)$/i.test(f)) files.push(path.join(root, label, f));
  }
  return Promise.all(files.sort().map((f) => readFile(f)));
}

export async function run(args: string[]): Promise<void> {
  const requests = Number(arg(args, '--requests') ?? '200');
  const clients = Number(arg(args, '--clients') ?? '8');
  const apiConcurrency = arg(args, '--api-concurrency') ?? '2';
  const set = arg(args, '--set') ?? 'e5';
  const pool = await images(set);
  const redis = await benchRedis();
  const config = loadConfig({
    ...process.env,
    REDIS_URL: redis.url,
    GENGUARD_QUEUE_PREFIX: 'bench-api',
    GENGUARD_CACHE: 'off',
    GENGUARD_API_CONCURRENCY: apiConcurrency,
    GENGUARD_API_RATE_LIMIT_PER_MINUTE: '1000000',
    GENGUARD_API_HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  });
  const logger = pino({ level: 'silent' });
  const loader = new ImageLoader({ limits: config.intake });
  const backends = new MemoBackendProvider({ create: (r) => defaultCreateBackend(config, r), defaultBackend: config.env.GENGUARD_BACKEND });
  const lease = await backends.get('detect');
  const metrics = new QueueMetrics();
  const runtime = new WorkerRuntime({ queue: config.queue, roles: ['api'], backends, loader, defaultAlertThreshold: config.bands.ai, logger, metrics });
  await runtime.start();
  const api = await startApi(config, { metrics, logger, port: 0 });
  const keysRedis = new Redis(config.queue.redisUrl);
  const { key } = await new ApiKeyStore({ redis: keysRedis, prefix: config.queue.prefix }).create('bench');
  const url = `http://127.0.0.1:${api.port}/api/detect`;
  const bodies = pool.map((img) => JSON.stringify({ image: img.toString('base64') }));

  console.log(
    `set ${set}: ${pool.length} images (${(pool.reduce((n, b) => n + b.length, 0) / pool.length / 1024).toFixed(0)} KiB avg); ` +
      `models ${lease.modelSetVersion}; cache off; ${clients} clients; API concurrency ${apiConcurrency}; ` +
      `${os.cpus().length} CPUs, ORT threads ${config.env.GENGUARD_ORT_THREADS || 'default'}`,
  );
  const send = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const res = await request(url, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: bodies[i % bodies.length]! });
    const body = (await res.body.json()) as { statusCode: number };
    if (res.statusCode !== 200 || body.statusCode !== 200) throw new Error(`request ${i}: HTTP ${res.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
    return performance.now() - t0;
  };
  // Warm-up: the first runs load the ONNX sessions.
  for (let i = 0; i < Math.min(6, bodies.length); i++) await send(i);

  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) latencies.push(await send(next++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const timing = summarise('POST /api/detect', latencies);
  console.log(`\n## API throughput`);
  console.table([{ requests, seconds: Math.round(seconds * 100) / 100, 'requests/s': Math.round((requests / seconds) * 10) / 10, ...timing }]);

  await api.close();
  await runtime.close();
  await backends.close();
  await loader.close();
  keysRedis.disconnect();
  await redis.close();
}
