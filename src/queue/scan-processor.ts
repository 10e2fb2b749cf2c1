import type { Logger } from 'pino';
import type { DetectionResult } from '../detector/result.js';
import { GenguardError } from '../errors/genguard-error.js';
import { lookupCache } from './cache-lookup.js';
import type { InflightDedupe } from './inflight-dedupe.js';
import type { CacheHit } from './notifier.js';
import type { PerceptualHash } from './perceptual-hash.js';
import { detectWithDeadline } from './run-detection.js';
import { versionTag, type Lane, type RedisKeys } from './queue-layout.js';
import type { QueueMetrics } from './queue-metrics.js';
import type { ResultCache } from './result-cache.js';
import type { ScanJob } from './scan-job.js';
import type { BackendProvider, CredentialsResolver, ImageSourceLoader } from './worker-deps.js';

export interface ScanProcessorOptions {
  lane: Lane;
  backends: BackendProvider;
  loader: ImageSourceLoader;
  credentials?: CredentialsResolver;
  /** null: cache off (nothing about the image is kept beyond the in-flight hand-over). */
  cache: ResultCache | null;
  dedupe: InflightDedupe;
  keys: RedisKeys;
  /** Cap on one backend run. */
  timeoutMs: number;
  /** Slow lanes make a timeout final: a model that timed out once will time out again. */
  timeoutRetryable: boolean;
  maxPixels?: number;
  metrics?: QueueMetrics;
  logger: Logger;
}

export interface ScanOutcome {
  result: DetectionResult;
  backend: string;
  modelSetVersion: string;
  /** Set when no model ran for this job. */
  cache?: CacheHit;
  /** Hashes of the image judged (pHash only when the cache computed one). */
  image?: { sha256: string; phash?: string };
  finishedAt: number;
}


interface Computed {
  result: DetectionResult;
  computedAt: number;
}

/**
 * The detect step for one scan: fetch at once (Discord CDN links expire), answer from the cache
 * when the same or a near-identical picture was judged by the same model set, otherwise run the
 * backend once per image across all workers.
 */
export class ScanProcessor {
  readonly #o: ScanProcessorOptions;

  constructor(options: ScanProcessorOptions) {
    this.#o = options;
  }

  async process(scan: ScanJob, signal: AbortSignal): Promise<ScanOutcome> {
    const { backends, loader, cache, dedupe, keys, metrics, lane } = this.#o;
    const { backend, modelSetVersion } = await backends.get(lane, scan.backend);
    const headers = scan.media.auth ? await this.#headers(scan) : undefined;
    const image = await loader.load(scan.media.url, { ...(headers ? { headers } : {}), signal });
    const tag = versionTag(modelSetVersion);
    const base = { backend: backend.id, modelSetVersion };

    let hash: PerceptualHash | undefined;
    if (cache) {
      const found = await lookupCache(cache, tag, image, this.#o);
      if (found.kind === 'exact') {
        return { ...base, result: found.verdict.result, cache: { kind: 'exact', computedAt: found.verdict.computedAt }, image: { sha256: image.sha256 }, finishedAt: Date.now() };
      }
      if (found.kind === 'perceptual') {
        return {
          ...base,
          result: found.verdict.result,
          cache: { kind: 'perceptual', distance: found.distance, computedAt: found.verdict.computedAt },
          image: { sha256: image.sha256, phash: found.hash.hex },
          finishedAt: Date.now(),
        };
      }
      hash = found.hash;
    }

    const dedupeKeys = { lock: keys.inflightLock(tag, image.sha256), outcome: keys.inflightOutcome(tag, image.sha256) };
    const { value, shared } = await dedupe.run<Computed>(
      dedupeKeys,
      async () => {
        const result = await detectWithDeadline(backend, image, { timeoutMs: this.#o.timeoutMs, timeoutRetryable: this.#o.timeoutRetryable, signal, metrics: this.#o.metrics });
        const computed = { result, computedAt: Date.now() };
        await cache?.put(tag, { ...computed, backend: backend.id, sha256: image.sha256 }, hash);
        return computed;
      },
      signal,
    );
    metrics?.cacheLookups.inc({ outcome: shared ? 'inflight' : cache ? 'miss' : 'off' });
    return {
      ...base,
      result: value.result,
      ...(shared ? { cache: { kind: 'inflight' as const, computedAt: value.computedAt } } : {}),
      image: { sha256: image.sha256, ...(hash ? { phash: hash.hex } : {}) },
      finishedAt: Date.now(),
    };
  }

  async #headers(scan: ScanJob): Promise<Record<string, string>> {
    const auth = scan.media.auth!;
    if (!this.#o.credentials) {
      throw new GenguardError('config_invalid', `no credentials resolver for "${auth.kind}" media on this worker`);
    }
    return this.#o.credentials(auth, scan);
  }
}
