import { asciiAt } from './container-metadata.js';
import { LIMITS } from './limits.js';

/** Boxes whose payload is more boxes, as c2pa-ts reads them (`meta` is a full box: 4 bytes first). */
const CONTAINERS = new Set(['cinf', 'dinf', 'edts', 'grp1', 'mdia', 'meco', 'mfra', 'minf', 'moof', 'moov', 'mvex', 'paen', 'rinf', 'sinf', 'stbl', 'strd', 'strk', 'traf', 'trak', 'udta', 'meta']);
const MAX_DEPTH = 16;

/**
 * Why the HEIF/AVIF box tree must not be handed to exifr or c2pa-ts, or undefined when it may.
 * Both walk boxes with `offset += size` and too few checks: exifr loops forever on a box of size
 * 0 before `meta`, c2pa-ts on a 64-bit size of 0, blocking the event loop for good (the fuzz
 * found a 1 KB AVIF that did). This walks the same tree first, bounded in boxes and depth.
 */
export function bmffChainProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let boxes = 0;
  let sawMeta = false;
  const walk = (start: number, end: number, depth: number): string | undefined => {
    if (depth > MAX_DEPTH) return `boxes nested deeper than ${MAX_DEPTH}`;
    for (let pos = start; pos < end; ) {
      if (++boxes > LIMITS.maxChunks) return `more than ${LIMITS.maxChunks} boxes`;
      if (end - pos < 8) return `a truncated box header at offset ${pos}`;
      const type = asciiAt(bytes, pos + 4, 4);
      let size = view.getUint32(pos);
      let header = 8;
      if (size === 0) {
        // "To the end of the container": fine for c2pa-ts, an endless loop for exifr before `meta`.
        if (depth === 0 && !sawMeta) return `box "${type}" at offset ${pos} has size 0 before the meta box`;
        size = end - pos;
      } else if (size === 1) {
        if (end - pos < 16) return `box "${type}" at offset ${pos} is truncated`;
        size = Number(view.getBigUint64(pos + 8));
        header = 16;
      }
      if (size < header) return `box "${type}" at offset ${pos} has size ${size}`;
      if (size > end - pos) return `box "${type}" at offset ${pos} runs past its container`;
      if (depth === 0 && type === 'meta') sawMeta = true;
      if (CONTAINERS.has(type)) {
        const payload = pos + header + (type === 'meta' ? 4 : 0);
        const problem = walk(payload, pos + size, depth + 1);
        if (problem !== undefined) return problem;
      }
      pos += size;
    }
    return undefined;
  };
  return walk(0, bytes.length, 0) ?? (sawMeta ? undefined : 'no meta box');
}
