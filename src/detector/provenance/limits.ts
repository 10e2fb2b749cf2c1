/**
 * Bounds for reading hostile files. Every container walk, inflate, JSON parse and C2PA read in
 * this folder is capped by one of these, so a crafted upload costs at most a few megabytes and
 * milliseconds. Values are generous for real generator output: ComfyUI workflows reach a few
 * hundred KiB, C2PA stores with thumbnails a few hundred KiB, XMP rarely more than 100 KiB.
 */
export const LIMITS = {
  /** PNG chunks, WebP chunks or JPEG segments walked before giving up. */
  maxChunks: 4096,
  /** Bytes of one text chunk / segment / XMP packet that are read at all. */
  maxChunkBytes: 4 * 1024 * 1024,
  /** Output cap for one zTXt/iTXt/zlib inflate (zip bombs stop here). */
  maxInflatedBytes: 4 * 1024 * 1024,
  /** All text kept from one file, summed over every source. */
  maxTotalTextBytes: 16 * 1024 * 1024,
  /** Text fields kept from one file. */
  maxTextEntries: 512,
  /** Reassembled C2PA JUMBF store. */
  maxJumbfBytes: 16 * 1024 * 1024,
  /** JUMBF superbox nesting; real C2PA stores nest about 5 deep. */
  maxJumbfDepth: 16,
  /** JUMBF boxes in one store. */
  maxJumbfBoxes: 20_000,
  /** Extended-XMP segments gathered per file. */
  maxXmpPackets: 64,
  /** EXIF blobs, XMP packets and Photoshop IRBs interpreted per file (real files have one each). */
  maxBlobsPerKind: 8,
  /** Text handed to JSON.parse / the value scanners at once. */
  maxJsonBytes: 4 * 1024 * 1024,
  /** Stealth pnginfo is only decoded for images up to this many pixels. */
  stealthMaxPixels: 4_194_304,
  /** Payload of stealth pnginfo (after the signature and length). */
  stealthMaxPayloadBytes: 256 * 1024,
  /**
   * The invisible watermark is read at the stored size (it does not survive resizing), so only up
   * to 2048×2048: the generators that embed it write 0.25–4 MP and resizing erases it, so a 12 MP
   * camera photo cannot carry it (only its top rows of blocks are decoded anyway; see
   * WATERMARK_MAX_BLOCKS).
   */
  watermarkMaxPixels: 2048 * 2048,
} as const;
