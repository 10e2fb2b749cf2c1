import type { ImageInput } from '../intake/image-input.js';
import type { DetectionResult } from './result.js';

export type BackendId = 'local' | 'bitmind' | 'bijou' | 'cascade';

export interface BackendDetectOptions {
  signal?: AbortSignal;
}

/**
 * Anything that turns an image into a DetectionResult: the local ensemble, a remote API client,
 * or the cascade of both. Failures are thrown as GenguardError (retryable or not).
 */
export interface DetectionBackend {
  readonly id: BackendId;
  detect(image: ImageInput, options?: BackendDetectOptions): Promise<DetectionResult>;
  close(): Promise<void>;
}
