import { asciiAt } from './container-metadata.js';
import { LIMITS } from './limits.js';

export interface JumbfSegment {
  instance: number;
  sequence: number;
  /** The segment's box bytes: LBox, TBox, [XLBox], payload (header repeated in every segment). */
  payload: Uint8Array;
}

/**
 * Rebuilds JUMBF superboxes split over JPEG APP11 segments (ISO 19566-5 / JPEG XT): segments of
 * one box instance, in sequence order; the first keeps its box header, later ones repeat the
 * header, which is dropped. Returns the first superbox whose description label is `c2pa`.
 */
export function reassembleJpegJumbf(segments: JumbfSegment[]): { jumbf: Uint8Array | undefined; notes: string[] } {
  const notes: string[] = [];
  const byInstance = new Map<number, JumbfSegment[]>();
  for (const s of segments) {
    const list = byInstance.get(s.instance) ?? [];
    list.push(s);
    byInstance.set(s.instance, list);
  }
  for (const [instance, list] of byInstance) {
    list.sort((a, b) => a.sequence - b.sequence);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const [i, s] of list.entries()) {
      const headerLength = headerSize(s.payload);
      const part = i === 0 ? s.payload : s.payload.subarray(headerLength);
      total += part.length;
      if (total > LIMITS.maxJumbfBytes) {
        notes.push(`JPEG: JUMBF instance ${instance} exceeds ${LIMITS.maxJumbfBytes} bytes, skipped`);
        parts.length = 0;
        break;
      }
      parts.push(part);
    }
    if (parts.length === 0) continue;
    const jumbf = new Uint8Array(Buffer.concat(parts));
    if (jumbfLabel(jumbf) === 'c2pa') return { jumbf, notes };
  }
  return { jumbf: undefined, notes };
}

function headerSize(box: Uint8Array): number {
  if (box.length < 8) return box.length;
  const lbox = new DataView(box.buffer, box.byteOffset, 8).getUint32(0);
  return lbox === 1 ? 16 : 8;
}

/** The label of a `jumb` superbox's `jumd` description box, or undefined. */
export function jumbfLabel(box: Uint8Array): string | undefined {
  if (box.length < 8 + 8 + 17 || asciiAt(box, 4, 4) !== 'jumb') return undefined;
  const d = 8;
  if (asciiAt(box, d + 4, 4) !== 'jumd') return undefined;
  const toggles = box[d + 8 + 16] ?? 0;
  if ((toggles & 0x02) === 0) return undefined;
  const labelStart = d + 8 + 17;
  const end = box.indexOf(0, labelStart);
  if (end < 0 || end - labelStart > 256) return undefined;
  return asciiAt(box, labelStart, end - labelStart);
}
