import { asciiAt, decodeUtf8OrLatin1, type TextEntry } from './container-metadata.js';
import { LIMITS } from './limits.js';

/** IPTC-IIM datasets (record 2) that can name a generator or declare AI. */
const DATASETS: Record<number, string> = {
  65: 'OriginatingProgram',
  80: 'By-line',
  110: 'Credit',
  115: 'Source',
  120: 'Caption-Abstract',
};

/**
 * Reads IPTC-IIM text out of Photoshop image resources (resource 0x0404). Accepts bare IIM
 * too (ImageMagick's raw iptc profile). Only the datasets above are kept.
 */
export function readIptcIim(irb: Uint8Array, notes: string[]): TextEntry[] {
  const iim = asciiAt(irb, 0, 4) === '8BIM' ? findIimResource(irb) : irb;
  if (!iim) return [];
  const out: TextEntry[] = [];
  let offset = 0;
  let count = 0;
  while (offset + 5 <= iim.length && iim[offset] === 0x1c) {
    if (++count > LIMITS.maxChunks) {
      notes.push('IPTC: too many datasets, stopped');
      break;
    }
    const record = iim[offset + 1] ?? 0;
    const dataset = iim[offset + 2] ?? 0;
    const length = ((iim[offset + 3] ?? 0) << 8) | (iim[offset + 4] ?? 0);
    // Extended lengths (high bit) are for binary payloads, never for the text we want.
    if (length & 0x8000) break;
    const start = offset + 5;
    const end = start + length;
    if (end > iim.length) {
      notes.push('IPTC: truncated dataset');
      break;
    }
    const name = record === 2 ? DATASETS[dataset] : undefined;
    if (name) out.push({ container: 'IPTC', key: name, value: decodeUtf8OrLatin1(iim.subarray(start, end)) });
    offset = end;
  }
  return out;
}

function findIimResource(irb: Uint8Array): Uint8Array | undefined {
  const view = new DataView(irb.buffer, irb.byteOffset, irb.byteLength);
  let offset = 0;
  let count = 0;
  while (offset + 12 <= irb.length && asciiAt(irb, offset, 4) === '8BIM' && ++count <= LIMITS.maxChunks) {
    const id = view.getUint16(offset + 4);
    const nameLength = irb[offset + 6] ?? 0;
    // Pascal name, padded so that length byte + name is even.
    const sizeAt = offset + 6 + ((nameLength + 2) & ~1);
    if (sizeAt + 4 > irb.length) return undefined;
    const size = view.getUint32(sizeAt);
    const start = sizeAt + 4;
    if (start + size > irb.length) return undefined;
    if (id === 0x0404) return irb.subarray(start, start + size);
    offset = start + size + (size & 1);
  }
  return undefined;
}
