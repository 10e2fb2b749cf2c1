import { boundedInflate } from './bounded-inflate.js';
import { asciiAt, decodeLatin1, decodeUtf8OrLatin1, emptyContainer, TextBudget, type ContainerMetadata } from './container-metadata.js';
import { LIMITS } from './limits.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Walks PNG chunks (headers only, data skipped by length) and keeps what provenance needs: text
 * chunks (tEXt, zTXt, iTXt, including XMP and ImageMagick raw profiles), eXIf, the C2PA `caBX`
 * store and whether there is alpha. CRCs are not checked: a broken CRC does not make a marker
 * less telling, and the C2PA hash binding covers what matters.
 */
export function readPngMetadata(bytes: Uint8Array): ContainerMetadata {
  const meta = emptyContainer();
  if (!isPng(bytes)) {
    meta.notes.push('PNG: bad signature');
    return meta;
  }
  const budget = new TextBudget(meta.notes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let chunks = 0;
  while (offset + 8 <= bytes.length) {
    if (++chunks > LIMITS.maxChunks) {
      meta.notes.push(`PNG: stopped after ${LIMITS.maxChunks} chunks`);
      break;
    }
    const length = view.getUint32(offset);
    const type = asciiAt(bytes, offset + 4, 4);
    const start = offset + 8;
    const end = start + length;
    if (length > 0x7fffffff || end > bytes.length) {
      meta.notes.push(`PNG: truncated ${JSON.stringify(type)} chunk at offset ${offset}`);
      break;
    }
    const data = bytes.subarray(start, end);
    readChunk(type, data, meta, budget);
    if (type === 'IEND') break;
    offset = end + 4;
  }
  return meta;
}

function readChunk(type: string, data: Uint8Array, meta: ContainerMetadata, budget: TextBudget): void {
  switch (type) {
    case 'IHDR':
      // Colour types 4 (grey + alpha) and 6 (RGBA) carry alpha; tRNS adds it to the others.
      if (data.length >= 13 && (data[9] === 4 || data[9] === 6)) meta.hasAlpha = true;
      return;
    case 'tRNS':
      meta.hasAlpha = true;
      return;
    case 'caBX':
      if (meta.jumbf) return;
      if (data.length > LIMITS.maxJumbfBytes) {
        meta.notes.push(`PNG: caBX chunk of ${data.length} bytes skipped (limit ${LIMITS.maxJumbfBytes})`);
        return;
      }
      meta.jumbf = data;
      meta.jumbfSource = 'PNG caBX';
      return;
    case 'eXIf':
      if (data.length <= LIMITS.maxChunkBytes) meta.exif.push(stripExifHeader(data));
      else meta.notes.push('PNG: eXIf chunk too large, skipped');
      return;
    case 'tEXt':
    case 'zTXt':
    case 'iTXt':
      if (data.length > LIMITS.maxChunkBytes) {
        meta.notes.push(`PNG: ${type} chunk of ${data.length} bytes skipped (limit ${LIMITS.maxChunkBytes})`);
        return;
      }
      readTextChunk(type, data, meta, budget);
      return;
    default:
      return;
  }
}

function readTextChunk(type: 'tEXt' | 'zTXt' | 'iTXt', data: Uint8Array, meta: ContainerMetadata, budget: TextBudget): void {
  const nul = data.subarray(0, 80).indexOf(0);
  if (nul < 1) {
    meta.notes.push(`PNG: ${type} chunk without a valid keyword`);
    return;
  }
  const key = decodeLatin1(data.subarray(0, nul));
  let value: string;
  if (type === 'tEXt') {
    value = decodeUtf8OrLatin1(data.subarray(nul + 1));
  } else if (type === 'zTXt') {
    const inflated = boundedInflate(data.subarray(nul + 2));
    if (!inflated.ok) {
      meta.notes.push(`PNG: zTXt ${JSON.stringify(key)} skipped: ${inflated.error}`);
      return;
    }
    value = decodeUtf8OrLatin1(inflated.bytes);
  } else {
    const compressed = data[nul + 1] === 1;
    const langEnd = data.indexOf(0, nul + 3);
    const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
    if (transEnd < 0) {
      meta.notes.push(`PNG: malformed iTXt ${JSON.stringify(key)}`);
      return;
    }
    let text: Uint8Array = data.subarray(transEnd + 1);
    if (compressed) {
      const inflated = boundedInflate(text);
      if (!inflated.ok) {
        meta.notes.push(`PNG: iTXt ${JSON.stringify(key)} skipped: ${inflated.error}`);
        return;
      }
      text = inflated.bytes;
    }
    value = decodeUtf8OrLatin1(text);
  }
  if (!budget.take(value.length)) return;
  if (key === 'XML:com.adobe.xmp') {
    meta.xmp.push(value);
    return;
  }
  if (key.startsWith('Raw profile type ') && readRawProfile(key.slice(17).toLowerCase(), value, meta)) return;
  meta.texts.push({ container: `PNG ${type}`, key, value });
}

/**
 * ImageMagick stores EXIF/XMP/IPTC in PNG as hex text: "\n<name>\n<length>\n<hex…>".
 * Returns false when the text is not in that shape, so it is kept as plain text instead.
 */
function readRawProfile(name: string, value: string, meta: ContainerMetadata): boolean {
  const match = /^\s*\S*\s+(\d+)\s+/.exec(value);
  if (!match) return false;
  const declared = Number(match[1]);
  if (declared > LIMITS.maxChunkBytes) return false;
  const hex = value.slice(match[0].length).replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex)) return false;
  const data = Buffer.from(hex.slice(0, declared * 2), 'hex');
  if (name === 'xmp') meta.xmp.push(decodeUtf8OrLatin1(data));
  else if (name === 'exif' || (name === 'app1' && asciiAt(data, 0, 4) === 'Exif')) meta.exif.push(stripExifHeader(data));
  else if (name === 'app1') meta.xmp.push(decodeUtf8OrLatin1(data));
  else if (name === 'iptc' || name === '8bim') meta.photoshopIrb.push(data);
  else return false;
  return true;
}

/** EXIF blobs sometimes keep the JPEG APP1 "Exif\0\0" prefix; exifr wants the TIFF header first. */
export function stripExifHeader(data: Uint8Array): Uint8Array {
  return asciiAt(data, 0, 6) === 'Exif\0\0' ? data.subarray(6) : data;
}
