import { asciiAt, decodeUtf8OrLatin1, emptyContainer, TextBudget, type ContainerMetadata } from './container-metadata.js';
import { LIMITS } from './limits.js';
import { stripExifHeader } from './png-chunks.js';

export function isWebp(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && asciiAt(bytes, 0, 4) === 'RIFF' && asciiAt(bytes, 8, 4) === 'WEBP';
}

/** Walks WebP RIFF chunks and keeps EXIF, XMP and C2PA, and whether there is alpha. */
export function readWebpMetadata(bytes: Uint8Array): ContainerMetadata {
  const meta = emptyContainer();
  if (!isWebp(bytes)) {
    meta.notes.push('WebP: bad RIFF header');
    return meta;
  }
  const budget = new TextBudget(meta.notes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let chunks = 0;
  while (offset + 8 <= bytes.length) {
    if (++chunks > LIMITS.maxChunks) {
      meta.notes.push(`WebP: stopped after ${LIMITS.maxChunks} chunks`);
      break;
    }
    const type = asciiAt(bytes, offset, 4);
    const size = view.getUint32(offset + 4, true);
    const start = offset + 8;
    const end = start + size;
    if (end > bytes.length) {
      meta.notes.push(`WebP: truncated ${JSON.stringify(type)} chunk at offset ${offset}`);
      break;
    }
    const data = bytes.subarray(start, end);
    switch (type) {
      case 'VP8X':
        if ((data[0] ?? 0) & 0x10) meta.hasAlpha = true;
        break;
      case 'ALPH':
        meta.hasAlpha = true;
        break;
      case 'VP8L':
        // Signature byte 0x2f, then 14+14 bits of size and one alpha_is_used bit.
        if (data.length >= 5 && data[0] === 0x2f && ((data[4] ?? 0) & 0x10) !== 0) meta.hasAlpha = true;
        break;
      case 'EXIF':
        if (size <= LIMITS.maxChunkBytes) meta.exif.push(stripExifHeader(data));
        else meta.notes.push('WebP: EXIF chunk too large, skipped');
        break;
      case 'XMP ':
        if (size <= LIMITS.maxChunkBytes && budget.take(size)) meta.xmp.push(decodeUtf8OrLatin1(data));
        else meta.notes.push('WebP: XMP chunk skipped');
        break;
      case 'C2PA':
        if (meta.jumbf) break;
        if (size <= LIMITS.maxJumbfBytes) {
          meta.jumbf = data;
          meta.jumbfSource = 'WebP C2PA chunk';
        } else {
          meta.notes.push('WebP: C2PA chunk too large, skipped');
        }
        break;
      default:
        break;
    }
    offset = end + (size & 1);
  }
  return meta;
}
