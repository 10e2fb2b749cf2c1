/**
 * A `genguard worker`-like process for the fault-injection test (test/hardening/kill-workers.test.ts):
 * `node --import tsx test/hardening/fault-worker.ts` with REDIS_URL, PREFIX, SINK_URL. It runs the
 * detect and notify lanes with a backend whose behaviour the image URL names
 * (`/img/<n>-<ok|fail|flaky|hang>-<score>.png`) and a notifier that posts to the sink (the "platform").
 * Prints "ready" once its workers run; the test SIGKILLs it at random moments.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { BackendDetectOptions, DetectionBackend } from '../../src/detector/backend.js';
import type { DetectionResult } from '../../src/detector/result.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ImageInput } from '../../src/intake/image-input.js';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from '../../src/queue/notifier.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import { FetchLoader, fakeResult, providerOf, testQueueConfig } from '../queue/helpers/fakes.js';

const redisUrl = process.env['REDIS_URL']!;
const prefix = process.env['PREFIX']!;
const sinkUrl = process.env['SINK_URL']!;

class UrlScriptedBackend implements DetectionBackend {
  readonly id = 'local' as const;

  async detect(image: ImageInput, options: BackendDetectOptions = {}): Promise<DetectionResult> {
    const m = /\/img\/(\d+)-(ok|fail|flaky|hang)-(\d+)\.png/.exec(image.source);
    if (!m) throw new GenguardError('internal', `unexpected source ${image.source}`);
    // "hang" stands for an image that kills or wedges every worker that touches it.
    if (m[2] === 'hang') await sleep(600_000, undefined, options.signal ? { signal: options.signal } : undefined);
    await sleep(40 + Math.floor(Math.random() * 160), undefined, options.signal ? { signal: options.signal } : undefined);
    if (m[2] === 'fail') throw new GenguardError('unsupported_format', 'scripted permanent failure');
    if (m[2] === 'flaky' && Math.random() < 0.5) throw new GenguardError('remote_unavailable', 'scripted outage', { retryable: true });
    return fakeResult(Number(m[3]) / 100, 'fault');
  }

  async close(): Promise<void> {}
}

/** Posts each step to the sink, which records it and answers after a short random delay (a real API round trip). */
class SinkNotifier implements Notifier {
  readonly platform = 'discord' as const;

  async reply(job: NotifyJob, context: NotifyContext): Promise<void> {
    await this.#post('reply', job, context);
  }

  async alert(job: ResultNotifyJob, context: NotifyContext): Promise<void> {
    await this.#post('alert', job, context);
  }

  async #post(step: string, job: NotifyJob, context: NotifyContext): Promise<void> {
    const response = await fetch(`${sinkUrl}/post`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scanId: job.scan.id, step, kind: job.kind, key: context.idempotencyKey, pid: process.pid, attempt: context.attempt }),
      signal: context.signal,
    }).catch((error: unknown) => {
      throw new GenguardError('platform_error', `sink unreachable: ${String(error)}`, { retryable: true });
    });
    if (!response.ok) throw new GenguardError('platform_error', `sink answered ${response.status}`, { retryable: true });
  }
}

const runtime = new WorkerRuntime({
  queue: testQueueConfig(redisUrl, prefix, {
    concurrency: { detect: 3, notify: 3, slow: 0 },
    cache: { enabled: false, ttlSeconds: 60, phashDistance: 0 },
    attempts: { detect: 3, notify: 8, backoffMs: 200 },
  }),
  roles: ['detect', 'notify'],
  backends: providerOf(new UrlScriptedBackend()),
  loader: new FetchLoader(),
  notifiers: { discord: new SinkNotifier() },
  defaultAlertThreshold: 0.7,
  logger: pino({ level: 'silent' }),
});

process.on('SIGTERM', () => void runtime.close().then(() => process.exit(0)));
await runtime.start();
process.stdout.write('ready\n');
