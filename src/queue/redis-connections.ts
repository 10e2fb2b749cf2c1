import { Redis } from 'ioredis';

/**
 * The two connection policies genguard uses with Redis.
 *
 * Workers (and anything they call): never give up. Commands wait in ioredis' offline queue
 * while Redis is away (`maxRetriesPerRequest: null`, as BullMQ requires for workers) and the
 * client reconnects with capped backoff, so a Redis restart only pauses processing.
 *
 * Producers (bot adapters): fail fast and visibly. A bot that enqueues while Redis is away must
 * learn it at once (to tell the user), and a rejected enqueue must never be replayed later
 * behind the caller's back. So: no offline queue, no resending of unanswered commands, and a
 * short connect timeout; ScanProducer adds a deadline on top (GENGUARD_QUEUE_ADD_TIMEOUT_MS) and
 * maps failures to a retryable `queue_unavailable`. The client keeps reconnecting in the
 * background, so the next enqueue after Redis returns succeeds.
 */
export function createWorkerRedis(url: string, onError?: (error: Error) => void, name = 'genguard-worker'): Redis {
  return listen(new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(200 * times, 3_000),
  }), onError);
}

export function createProducerRedis(url: string, onError?: (error: Error) => void, name = 'genguard-producer'): Redis {
  return listen(new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 3_000,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  }), onError);
}

/** Without an 'error' listener ioredis prints every failed reconnect; the owner decides what to log. */
function listen(redis: Redis, onError: ((error: Error) => void) | undefined): Redis {
  redis.on('error', onError ?? (() => undefined));
  return redis;
}

/** Resolves once `redis` is ready, or false after `timeoutMs`. */
export function waitForReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    redis.once('ready', onReady);
  });
}

/** Closes a client we own: QUIT when connected, otherwise drop it (QUIT would wait for a Redis that is away). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to disconnect
    }
  }
  redis.disconnect();
}
