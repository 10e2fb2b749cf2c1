import type { Logger } from 'pino';
import type { DetectionBackend } from '../detector/backend.js';
import type { DetectionResult } from '../detector/result.js';
import { GenguardError, isGenguardError } from '../errors/genguard-error.js';
import type { ImageInput } from '../intake/image-input.js';
import { perceptualHash, type PerceptualHash } from './perceptual-hash.js';
import type { QueueMetrics } from './queue-metrics.js';

const REMOTE: ReadonlySet<string> = new Set(['bitmind', 'bijou']);

export interface DeadlineOptions {
  timeoutMs: number;
  /** Whether a timeout may be retried (a chat scan) or is final (an API caller stopped waiting). */
  timeoutRetryable: boolean;
  /** The job's own signal (worker shutting down, job cancelled). */
  signal: AbortSignal;
  metrics?: QueueMetrics | undefined;
}

/**
 * Runs one detection with a deadline, aborting the backend's work (downloads, remote calls) when
 * the deadline passes or the job is cancelled, and records latency and remote errors. Shared by
 * the chat-scan and API processors so both behave the same under load.
 */
export async function detectWithDeadline(
  backend: DetectionBackend,
  image: ImageInput,
  { timeoutMs, timeoutRetryable, signal, metrics }: DeadlineOptions,
): Promise<DetectionResult> {
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new GenguardError('timeout', `${backend.id} backend took longer than ${timeoutMs} ms`, {
        retryable: timeoutRetryable,
      });
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    const result = await Promise.race([backend.detect(image, { signal: controller.signal }), timedOut]);
    metrics?.observeDetection(backend.id, result);
    return result;
  } catch (error) {
    if (isGenguardError(error) && REMOTE.has(backend.id)) metrics?.remoteErrors.inc({ backend: backend.id, code: error.code });
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/** A hashing failure only costs the perceptual cache lookup, never the scan. */
export async function tryPerceptualHash(
  image: ImageInput,
  maxPixels: number | undefined,
  logger: Logger,
): Promise<PerceptualHash | undefined> {
  try {
    return await perceptualHash(image.bytes, maxPixels === undefined ? {} : { maxPixels });
  } catch (error) {
    logger.debug({ err: error, sha256: image.sha256 }, 'perceptual hash failed');
    return undefined;
  }
}
