/** What intake hands to every detector: the original bytes plus what was learned reading them. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'bmp' | 'tiff';

export interface ImageInput {
  /** The bytes exactly as received: provenance reads their metadata, remotes upload them. */
  bytes: Buffer;
  format: ImageFormat;
  /** Displayed size: after EXIF orientation, first frame only. */
  width: number;
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  /** hex sha256 of `bytes`. */
  sha256: string;
  /** Where it came from, for messages: a path, a URL, or "bytes". */
  source: string;
  /** Frames or pages when more than one (animated GIF/WebP, multi-page TIFF); only the first is analysed. */
  pages?: number;
}
