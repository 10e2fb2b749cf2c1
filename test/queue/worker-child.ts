/**
 * A `genguard worker`-like child process for the kill -9 and SIGTERM tests:
 * `node --import tsx test/queue/worker-child.ts` with REDIS_URL, PREFIX, ROLES (comma list),
 * SLEEP_MS (backend run time). It records each detection start in `<prefix>:test:started` and
 * prints "ready" once its workers run. SIGTERM drains and exits 0.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { WorkerRuntime, type WorkerRole } from '../../src/queue/worker-runtime.js';
import { FetchLoader, ScriptedBackend, fakeResult, providerOf, testQueueConfig } from './helpers/fakes.js';
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.env['REDIS_URL']!;
const prefix = process.env['PREFIX']!;
const roles = (process.env['ROLES'] ?? 'detect').split(',') as WorkerRole[];
const sleepMs = Number(process.env['SLEEP_MS'] ?? '1000');

const marks = new Redis(url);
const backend = new ScriptedBackend([
  async (image) => {
    await marks.rpush(`${prefix}:test:started`, `${process.pid}:${image.sha256.slice(0, 8)}`);
    await sleep(sleepMs);
    return fakeResult(0.66, 'child');
  },
]);
const runtime = new WorkerRuntime({
  queue: testQueueConfig(url, prefix, { concurrency: { detect: 1, notify: 1, slow: 0 } }),
  roles,
  backends: providerOf(backend),
  loader: new FetchLoader(),
  defaultAlertThreshold: 0.7,
  logger: pino({ level: 'silent' }),
});

process.on('SIGTERM', () => {
  void runtime.close().then(async () => {
    await marks.rpush(`${prefix}:test:drained`, String(process.pid));
    marks.disconnect();
    process.exit(0);
  });
});

await runtime.start();
process.stdout.write('ready\n');
