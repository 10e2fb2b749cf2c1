import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DetectionResult } from '../detector/result.js';
import { GenguardError } from '../errors/genguard-error.js';
import type { ApiJob, ApiJobResult } from './api-job.js';
import { lookupCache } from './cache-lookup.js';
import type { InflightDedupe } from './inflight-dedupe.js';
import type { PerceptualHash } from './perceptual-hash.js';
import { detectWithDeadline } from './run-detection.js';
import { versionTag, type RedisKeys } from './queue-layout.js';
import type { QueueMetrics } from './queue-metrics.js';
import type { ResultCache } from './result-cache.js';
import type { BackendProvider, ImageSourceLoader } from './worker-deps.js';

export interface ApiProcessorOptions {
  /** Where the API process parked the image bytes. */
  redis: Redis;
  backends: BackendProvider;
  /** Validates the parked bytes (intake's ImageLoader, given bytes). */
  loader: ImageSourceLoader;
  /** null: cache off. Shared with the chat lanes: an image judged there is answered from the cache here. */
  cache: ResultCache | null;
  dedupe: InflightDedupe;
  keys: RedisKeys;
  /** Cap on one backend run (GENGUARD_DETECT_TIMEOUT_MS); the request's deadline may cut it shorter. */
  timeoutMs: number;
  maxPixels?: number;
  metrics?: QueueMetrics;
  logger: Logger;
  now?: () => number;
}

/** Same shape ScanProcessor publishes through InflightDedupe, so chat and API jobs share one run per image. */
interface Computed {
  result: DetectionResult;
  computedAt: number;
}

/**
 * The detect step of one API request: read the parked bytes, answer from the shared result cache
 * when the same (or a near-identical) picture was judged by the same model set, otherwise run the
 * backend once per image across all workers. Mirrors ScanProcessor, minus fetching and routing.
 */
export class ApiProcessor {
  readonly #o: ApiProcessorOptions;
  readonly #now: () => number;

  constructor(options: ApiProcessorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async process(job: ApiJob, signal: AbortSignal): Promise<ApiJobResult> {
    const { redis, backends, loader, cache, dedupe, keys, metrics } = this.#o;
    const left = job.deadline - this.#now();
    if (left <= 0) throw new GenguardError('timeout', 'the request timed out before a worker picked it up', { retryable: false });
    const bytes = await redis.getBuffer(job.imageKey);
    if (!bytes) throw new GenguardError('not_found', 'the image expired before a worker picked it up', { retryable: false });
    const image = await loader.load(bytes, { signal });
    const { backend, modelSetVersion } = await backends.get('detect', job.backend);
    const tag = versionTag(modelSetVersion);
    const base = { backend: backend.id, modelSetVersion };

    let hash: PerceptualHash | undefined;
    if (cache) {
      const found = await lookupCache(cache, tag, image, this.#o);
      if (found.kind !== 'miss') return { ...base, result: found.verdict.result, cache: found.kind };
      hash = found.hash;
    }
    const timeoutMs = Math.min(this.#o.timeoutMs, left);
    const { value, shared } = await dedupe.run<Computed>(
      { lock: keys.inflightLock(tag, image.sha256), outcome: keys.inflightOutcome(tag, image.sha256) },
      async () => {
        const result = await detectWithDeadline(backend, image, { timeoutMs, timeoutRetryable: false, signal, metrics: this.#o.metrics });
        const computed = { result, computedAt: this.#now() };
        await cache?.put(tag, { ...computed, backend: backend.id, sha256: image.sha256 }, hash);
        return computed;
      },
      signal,
    );
    metrics?.cacheLookups.inc({ outcome: shared ? 'inflight' : cache ? 'miss' : 'off' });
    return { ...base, result: value.result, cache: shared ? 'inflight' : null };
  }
}
