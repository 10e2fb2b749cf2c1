import { BMFF } from '@trustnxt/c2pa-ts/asset';
import type { ImageFormat } from '../../intake/image-input.js';
import { bmffChainProblem } from './bmff-box-chain.js';
import { asciiAt, emptyContainer, type ContainerMetadata } from './container-metadata.js';
import { readExifFields } from './exif-text.js';
import { isJpeg, readJpegMetadata } from './jpeg-segments.js';
import { isPng, readPngMetadata } from './png-chunks.js';
import { LIMITS } from './limits.js';
import { isWebp, readWebpMetadata } from './webp-chunks.js';

/** The container the bytes really are; intake's format is a hint (files lie about extensions). */
export function sniffFormat(bytes: Uint8Array, hint: ImageFormat): ImageFormat {
  if (isJpeg(bytes)) return 'jpeg';
  if (isPng(bytes)) return 'png';
  if (isWebp(bytes)) return 'webp';
  const head4 = asciiAt(bytes, 0, 4);
  if (head4 === 'GIF8') return 'gif';
  if (head4 === 'II*\0' || head4 === 'MM\0*') return 'tiff';
  if (asciiAt(bytes, 4, 4) === 'ftyp') return 'avif';
  if (asciiAt(bytes, 0, 2) === 'BM') return 'bmp';
  return hint;
}

export const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};

/**
 * Raw metadata blocks of one file. JPEG, PNG and WebP are walked here; TIFF and HEIF/AVIF go
 * through exifr (their EXIF is the file structure itself); GIF and BMP carry nothing we read.
 */
export async function readContainer(bytes: Uint8Array, format: ImageFormat): Promise<ContainerMetadata> {
  switch (format) {
    case 'jpeg':
      return readJpegMetadata(bytes);
    case 'png':
      return readPngMetadata(bytes);
    case 'webp':
      return readWebpMetadata(bytes);
    case 'tiff':
    case 'avif': {
      const meta = emptyContainer();
      const broken = format === 'avif' ? bmffChainProblem(bytes) : undefined;
      if (broken !== undefined) {
        meta.notes.push(`AVIF: metadata not read (${broken})`);
        return meta;
      }
      try {
        const fields = await readExifFields(bytes, 'EXIF', true);
        meta.texts.push(...fields.texts);
        if (fields.xmp) meta.xmp.push(fields.xmp);
        for (const e of fields.errors) meta.notes.push(`${format.toUpperCase()}: ${e}`);
      } catch (error) {
        meta.notes.push(`${format.toUpperCase()}: metadata unreadable (${error instanceof Error ? error.message : String(error)})`);
      }
      if (format === 'avif') readBmffJumbf(bytes, meta);
      return meta;
    }
    default:
      return emptyContainer();
  }
}

/** HEIF/AVIF keep C2PA in a `uuid` box; c2pa-ts's BMFF reader finds it. */
function readBmffJumbf(bytes: Uint8Array, meta: ContainerMetadata): void {
  try {
    if (!BMFF.canRead(bytes)) return;
    const jumbf = new BMFF(bytes).getManifestJUMBF();
    if (!jumbf) return;
    if (jumbf.length > LIMITS.maxJumbfBytes) {
      meta.notes.push('AVIF: C2PA store too large, skipped');
      return;
    }
    meta.jumbf = jumbf;
    meta.jumbfSource = 'BMFF uuid box';
  } catch (error) {
    meta.notes.push(`AVIF: box structure unreadable (${error instanceof Error ? error.message : String(error)})`);
  }
}
