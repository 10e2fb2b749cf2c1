import type { Logger } from 'pino';
import type { Config } from '../config/load-config.js';
import { RedisRateLimiter } from '../detector/remote/redis-rate-limiter.js';
import { ImageLoader } from '../intake/image-loader.js';
import { apiRateKey } from '../queue/api-job.js';
import { ApiSubmitter } from '../queue/api-submitter.js';
import type { QueueMetrics } from '../queue/queue-metrics.js';
import { ApiKeyStore } from './api-key-store.js';
import type { Health } from './api-schemas.js';
import { ApiServer } from './api-server.js';

export interface ApiStack {
  server: ApiServer;
  submitter: ApiSubmitter;
  /** The bound port. */
  port: number;
  /** Drains requests in flight, then closes the queue connections. */
  close(): Promise<void>;
}

export interface StartApiOptions {
  /** Registry to serve and add HTTP metrics to; the `api` queue's counts are watched in it. */
  metrics: QueueMetrics;
  logger: Logger;
  /** Extra readiness (e.g. the workers of `genguard start`); Redis is always checked. */
  healthy?: () => Promise<boolean>;
  /** Overrides config.api.port (tests: 0). */
  port?: number;
  version?: string;
}

/** Builds and starts the HTTP API from configuration: submitter, key store, per-key limiter, server. */
export async function startApi(config: Config, options: StartApiOptions): Promise<ApiStack> {
  const { logger } = options;
  const prefix = config.queue.prefix;
  const submitter = new ApiSubmitter({
    redisUrl: config.queue.redisUrl,
    prefix,
    timeoutMs: config.api.timeoutMs,
    addTimeoutMs: config.queue.addTimeoutMs,
    onError: (error) => logger.debug({ err: error.message }, 'api redis error'),
  });
  const validator = new ImageLoader({ limits: config.intake });
  try {
    await submitter.ready(30_000);
  } catch (error) {
    await submitter.close();
    await validator.close();
    throw error;
  }
  options.metrics.watch(submitter.queue);
  const redis = submitter.redis;
  const health = async (): Promise<Health> => {
    const redisOk = await submitter.ping();
    const workers = redisOk ? await submitter.workerCount().catch(() => undefined) : undefined;
    const extraOk = options.healthy ? await options.healthy().catch(() => false) : true;
    return {
      status: redisOk && extraOk ? 'ok' : 'unavailable',
      redis: redisOk ? 'ok' : 'down',
      ...(workers === undefined ? {} : { workers }),
    };
  };
  const server = new ApiServer({
    detector: submitter,
    validator,
    maxBytes: config.intake.maxBytes,
    keys: new ApiKeyStore({ redis, prefix }),
    rateLimiter: {
      take: (keyId, perMinute) => new RedisRateLimiter(redis, { key: apiRateKey(prefix, keyId), limit: perMinute, windowMs: 60_000 }).tryTake(),
    },
    defaultRatePerMinute: config.api.ratePerMinute,
    maxInflight: config.api.maxInflight,
    registry: options.metrics.registry,
    health,
    logger,
    port: options.port ?? config.api.port,
    host: config.api.host,
    drainMs: config.api.timeoutMs,
    ...(options.version ? { version: options.version } : {}),
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    await submitter.close();
    await validator.close();
    throw error;
  }
  logger.info({ port, host: config.api.host }, `detection API listening on ${config.api.host}:${port}`);
  return {
    server,
    submitter,
    port,
    async close() {
      await server.close();
      await submitter.close();
      await validator.close();
    },
  };
}
