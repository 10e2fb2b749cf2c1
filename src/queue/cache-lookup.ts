import type { Logger } from 'pino';
import type { ImageInput } from '../intake/image-input.js';
import type { PerceptualHash } from './perceptual-hash.js';
import type { QueueMetrics } from './queue-metrics.js';
import type { CachedVerdict, ResultCache } from './result-cache.js';
import { tryPerceptualHash } from './run-detection.js';

export type CacheLookup =
  | { kind: 'exact'; verdict: CachedVerdict }
  | { kind: 'perceptual'; verdict: CachedVerdict; distance: number; hash: PerceptualHash }
  /** `hash` (when the image could be hashed) is where the caller stores the verdict it computes. */
  | { kind: 'miss'; hash: PerceptualHash | undefined };

export interface CacheLookupOptions {
  maxPixels?: number | undefined;
  metrics?: QueueMetrics | undefined;
  logger: Logger;
}

/**
 * Asks the result cache about an image, the same way for chat scans and API requests: the exact
 * bytes first, then a perceptual near match. Counts the hit; the caller counts a miss once it
 * knows whether another worker's run answered it.
 */
export async function lookupCache(cache: ResultCache, tag: string, image: ImageInput, options: CacheLookupOptions): Promise<CacheLookup> {
  const exact = await cache.getExact(tag, image.sha256);
  if (exact) {
    options.metrics?.cacheLookups.inc({ outcome: 'exact' });
    return { kind: 'exact', verdict: exact };
  }
  const hash = await tryPerceptualHash(image, options.maxPixels, options.logger);
  const near = hash ? await cache.findSimilar(tag, hash) : null;
  if (hash && near) {
    options.metrics?.cacheLookups.inc({ outcome: 'perceptual' });
    // Remember these bytes too, so the next copy of this exact file is an exact hit.
    await cache.put(tag, { ...near.verdict, sha256: image.sha256 }, hash);
    return { kind: 'perceptual', verdict: near.verdict, distance: near.distance, hash };
  }
  return { kind: 'miss', hash };
}
