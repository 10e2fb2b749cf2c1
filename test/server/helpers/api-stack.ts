import { pino } from 'pino';
import { loadConfig, type Config } from '../../../src/config/load-config.js';
import type { DetectionBackend } from '../../../src/detector/backend.js';
import { ImageLoader } from '../../../src/intake/image-loader.js';
import { QueueMetrics } from '../../../src/queue/queue-metrics.js';
import { closeRedis, createProducerRedis } from '../../../src/queue/redis-connections.js';
import { WorkerRuntime } from '../../../src/queue/worker-runtime.js';
import { ApiKeyStore } from '../../../src/server/api-key-store.js';
import { startApi, type ApiStack } from '../../../src/server/create-api.js';
import { providerOf, testQueueConfig, uniquePrefix } from '../../queue/helpers/fakes.js';

export interface StackOptions {
  redisUrl: string;
  backend: DetectionBackend;
  /** Extra GENGUARD_* variables. */
  env?: Record<string, string>;
  /** false: no worker (requests time out). */
  worker?: boolean;
}

/**
 * What `genguard serve` runs (startApi, from configuration) plus one worker process's runtime,
 * both in this process, on a fresh key prefix. The backend is a test double; everything else —
 * Redis, BullMQ, HTTP — is real.
 */
export class ApiTestStack {
  readonly prefix = uniquePrefix('api');
  config!: Config;
  api!: ApiStack;
  runtime: WorkerRuntime | undefined;
  keys!: ApiKeyStore;
  readonly #keysRedis;
  readonly #loader: ImageLoader;

  constructor(private readonly options: StackOptions) {
    this.#keysRedis = createProducerRedis(options.redisUrl);
    this.#loader = new ImageLoader({ limits: loadConfig({}).intake });
  }

  get url(): string {
    return `http://127.0.0.1:${this.api.port}`;
  }

  async start(): Promise<this> {
    this.config = loadConfig({
      REDIS_URL: this.options.redisUrl,
      GENGUARD_QUEUE_PREFIX: this.prefix,
      GENGUARD_API_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...this.options.env,
    });
    const logger = pino({ level: 'silent' });
    const metrics = new QueueMetrics();
    if (this.options.worker !== false) {
      this.runtime = new WorkerRuntime({
        queue: { ...testQueueConfig(this.options.redisUrl, this.prefix, { concurrency: { detect: 1, notify: 1, slow: 0 } }), cache: this.config.queue.cache, api: { concurrency: 2 } },
        roles: ['api'],
        backends: providerOf(this.options.backend),
        loader: this.#loader,
        defaultAlertThreshold: 0.7,
        logger,
        metrics,
      });
      await this.runtime.start();
    }
    this.api = await startApi(this.config, { metrics, logger, port: 0 });
    this.keys = new ApiKeyStore({ redis: this.#keysRedis, prefix: this.prefix });
    return this;
  }

  async close(): Promise<void> {
    await this.api?.close();
    await this.runtime?.close();
    await this.#loader.close();
    await closeRedis(this.#keysRedis);
  }
}
