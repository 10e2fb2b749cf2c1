import type { ImageInput } from '../intake/image-input.js';
import type { RawImage } from './raw-image.js';

/** What one ensemble member says about one image. */
export type DetectorOutcome =
  | { status: 'ok'; score: number; evidence?: string[] }
  /** The member has nothing to say about this image (no metadata found, model file missing, …). */
  | { status: 'abstain'; code: string; reason: string };

export interface DetectContext {
  signal?: AbortSignal;
  /** Decoded pixels, decoded once per image and shared by every pixel detector. */
  pixels?: () => Promise<RawImage>;
}

/** One member of the local ensemble. Throwing means the member failed on this image. */
export interface Detector {
  readonly id: string;
  readonly weight: number;
  detect(image: ImageInput, context: DetectContext): Promise<DetectorOutcome>;
}
