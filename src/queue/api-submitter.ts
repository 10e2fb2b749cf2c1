import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackendId } from '../detector/backend.js';
import { ERROR_CODES, GenguardError, type ErrorCode } from '../errors/genguard-error.js';
import {
  API_IMAGE_TTL_MARGIN_MS,
  API_KEEP_COMPLETED_SECONDS,
  API_KEEP_FAILED_SECONDS,
  API_QUEUE_NAME,
  apiImageKey,
  type ApiJobInput,
  type ApiJobResult,
} from './api-job.js';
import { closeRedis, createProducerRedis, createWorkerRedis, waitForReady } from './redis-connections.js';

export interface ApiSubmitterOptions {
  redisUrl: string;
  prefix: string;
  /** Default wait for one request (GENGUARD_API_TIMEOUT_MS). */
  timeoutMs: number;
  /** Longest wait for an unreachable Redis before `submit` fails with `queue_unavailable`. */
  addTimeoutMs?: number;
  onError?: (error: Error) => void;
  now?: () => number;
}

export interface SubmitOptions {
  requestId: string;
  route: ApiJobInput['route'];
  backend?: BackendId;
  /** Aborted when the HTTP client goes away: the job is withdrawn if no worker has it yet. */
  signal?: AbortSignal;
}

/**
 * The API process's side of the `api` lane: parks the image bytes under a short-lived key, adds a
 * job that names the key, waits for a worker's answer through QueueEvents, and cleans up. Like
 * ScanProducer it fails fast when Redis is away (`queue_unavailable`); unlike it, it waits for the
 * outcome, at most the request timeout (`timeout` after that).
 */
export class ApiSubmitter {
  readonly #o: ApiSubmitterOptions;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #eventsRedis: Redis;
  readonly #now: () => number;

  constructor(options: ApiSubmitterOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#redis = createProducerRedis(options.redisUrl, options.onError, 'genguard-api');
    this.#queue = new Queue(API_QUEUE_NAME, { connection: this.#redis, prefix: options.prefix });
    this.#queue.on('error', (error) => options.onError?.(error));
    // Every waiting request listens for the queue's 'closing' (Job.waitUntilFinished): one listener per request in flight.
    this.#queue.setMaxListeners(0);
    // QueueEvents blocks on XREAD, so it needs a connection of its own that rides out outages.
    this.#eventsRedis = createWorkerRedis(options.redisUrl, options.onError, 'genguard-api-events');
    this.#events = new QueueEvents(API_QUEUE_NAME, { connection: this.#eventsRedis, prefix: options.prefix });
    this.#events.on('error', (error) => options.onError?.(error));
  }

  /** The fail-fast connection requests use (API keys and rate limits share it). */
  get redis(): Redis {
    return this.#redis;
  }

  /** The queue, for metrics (`genguard_queue_jobs`) and worker counts. */
  get queue(): Queue {
    return this.#queue;
  }

  /** Resolves once the event stream is being read (answers cannot be missed after that). */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#events.waitUntilReady(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new GenguardError('queue_unavailable', `Redis is unreachable (waited ${timeoutMs} ms)`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Redis answers PING (health checks). */
  async ping(): Promise<boolean> {
    try {
      return this.#redis.status === 'ready' && (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Workers currently serving the `api` queue (0 = requests would only time out). */
  async workerCount(): Promise<number> {
    return (await this.#queue.getWorkers()).length;
  }

  async submit(bytes: Buffer, options: SubmitOptions): Promise<ApiJobResult> {
    const { prefix } = this.#o;
    const timeoutMs = this.#o.timeoutMs;
    const deadline = this.#now() + timeoutMs;
    await this.#ensureReady();
    const imageKey = apiImageKey(prefix, options.requestId);
    const job: ApiJobInput = {
      requestId: options.requestId,
      imageKey,
      deadline,
      route: options.route,
      ...(options.backend ? { backend: options.backend } : {}),
    };
    let added;
    try {
      await this.#redis.set(imageKey, bytes, 'PX', timeoutMs + API_IMAGE_TTL_MARGIN_MS);
      added = await this.#queue.add(options.route, job, {
        jobId: options.requestId,
        attempts: 1,
        removeOnComplete: { age: API_KEEP_COMPLETED_SECONDS },
        removeOnFail: { age: API_KEEP_FAILED_SECONDS },
      });
    } catch (error) {
      await this.#redis.del(imageKey).catch(() => undefined);
      throw new GenguardError('queue_unavailable', `could not queue the request: ${(error as Error).message}`, { cause: error });
    }
    let finished = false;
    try {
      const value = await this.#wait(added.waitUntilFinished(this.#events, Math.max(1, deadline - this.#now())), options.signal);
      finished = true;
      return parseReturn(value);
    } catch (error) {
      if (error instanceof GenguardError) throw error;
      const reason = (error as Error).message;
      if (/timed out before finishing/.test(reason)) {
        throw new GenguardError('timeout', `no worker answered within ${timeoutMs} ms`, { retryable: true });
      }
      finished = true;
      throw failureToError(reason);
    } finally {
      await this.#redis.del(imageKey).catch(() => undefined);
      // Nobody waits any more: withdraw the job unless a worker already has it (remove() refuses locked jobs).
      if (!finished) await added.remove().catch(() => undefined);
    }
  }

  async #ensureReady(): Promise<void> {
    if (this.#redis.status === 'ready') return;
    const waitMs = this.#o.addTimeoutMs ?? 5_000;
    if (!(await waitForReady(this.#redis, waitMs))) {
      throw new GenguardError('queue_unavailable', `Redis is unreachable (waited ${waitMs} ms); request not queued`);
    }
  }

  #wait<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return promise;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new GenguardError('internal', 'the client went away', { retryable: false }));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#queue.close(), this.#events.close()]);
    await Promise.allSettled([closeRedis(this.#redis), closeRedis(this.#eventsRedis)]);
  }
}

function parseReturn(value: unknown): ApiJobResult {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const result = (parsed as ApiJobResult | null)?.result;
  if (!result || typeof result.ensemble_score !== 'number') {
    throw new GenguardError('internal', 'a worker returned no detection result');
  }
  return parsed as ApiJobResult;
}

/** ApiWorker fails jobs with `<code>: <message>`; anything else is an internal error. */
export function failureToError(reason: string): GenguardError {
  const m = /^([a-z_]+): ([\s\S]*)$/.exec(reason);
  const code = m?.[1];
  if (code && code in ERROR_CODES) return new GenguardError(code as ErrorCode, m[2] ?? '', { retryable: false });
  return new GenguardError('internal', reason, { retryable: false });
}
