import { pino } from 'pino';
import type { QueueConfig } from '../../../src/config/load-config.js';
import type { DetectionBackend } from '../../../src/detector/backend.js';
import type { NotifierSet } from '../../../src/queue/notifier.js';
import { ScanProducer } from '../../../src/queue/scan-producer.js';
import type { CredentialsResolver, BackendProvider } from '../../../src/queue/worker-deps.js';
import { WorkerRuntime, type WorkerRole } from '../../../src/queue/worker-runtime.js';
import { FetchLoader, providerOf, RecordingNotifier, testQueueConfig, uniquePrefix } from './fakes.js';
import { deletePrefix, type TestRedis } from './redis-server.js';

export interface PipelineOptions {
  backend: DetectionBackend;
  provider?: BackendProvider;
  config?: Partial<QueueConfig>;
  roles?: WorkerRole[];
  credentials?: CredentialsResolver;
  notifiers?: NotifierSet;
  prefix?: string;
  defaultBackend?: 'local' | 'bijou' | 'bitmind' | 'cascade';
}

export interface Pipeline {
  prefix: string;
  config: QueueConfig;
  runtime: WorkerRuntime;
  producer: ScanProducer;
  notifier: RecordingNotifier;
  loader: FetchLoader;
  close(): Promise<void>;
}

export const silent = pino({ level: 'silent' });

/** A worker runtime + producer on a fresh prefix of `redis`; close() removes every key it wrote. */
export async function startPipeline(redis: TestRedis, options: PipelineOptions): Promise<Pipeline> {
  const prefix = options.prefix ?? uniquePrefix('q');
  const config = testQueueConfig(redis.url, prefix, options.config);
  const notifier = new RecordingNotifier('discord');
  const loader = new FetchLoader();
  const runtime = new WorkerRuntime({
    queue: config,
    ...(options.roles ? { roles: options.roles } : {}),
    backends: options.provider ?? providerOf(options.backend),
    loader,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    notifiers: options.notifiers ?? { discord: notifier },
    defaultAlertThreshold: 0.7,
    logger: silent,
  });
  await runtime.start();
  const producer = new ScanProducer({
    redisUrl: config.redisUrl,
    prefix,
    defaultBackend: options.defaultBackend ?? 'local',
    addTimeoutMs: config.addTimeoutMs,
    attempts: config.attempts.detect,
    backoffMs: config.attempts.backoffMs,
    retention: config.retention,
  });
  return {
    prefix,
    config,
    runtime,
    producer,
    notifier,
    loader,
    async close() {
      await producer.close();
      await runtime.close();
      const client = redis.client();
      await deletePrefix(client, prefix);
      client.disconnect();
    },
  };
}
