import { asciiAt } from './container-metadata.js';
import { LIMITS } from './limits.js';

/**
 * Walks the JUMBF box tree before c2pa-ts sees it: every box must fit inside its parent,
 * superboxes may nest at most LIMITS.maxJumbfDepth deep, and there may be at most
 * LIMITS.maxJumbfBoxes boxes. Returns why the store is refused, or undefined when it is fine.
 * c2pa-ts parses recursively without such bounds, so this keeps crafted nesting away from it.
 */
export function checkJumbfStructure(jumbf: Uint8Array): string | undefined {
  if (jumbf.length > LIMITS.maxJumbfBytes) return `JUMBF store of ${jumbf.length} bytes exceeds ${LIMITS.maxJumbfBytes}`;
  if (asciiAt(jumbf, 4, 4) !== 'jumb') return 'JUMBF store does not start with a jumb superbox';
  const view = new DataView(jumbf.buffer, jumbf.byteOffset, jumbf.byteLength);
  const counter = { boxes: 0 };
  return walk(view, jumbf, 0, jumbf.length, 1, counter);
}

function walk(view: DataView, bytes: Uint8Array, start: number, end: number, depth: number, counter: { boxes: number }): string | undefined {
  let offset = start;
  while (offset < end) {
    if (end - offset < 8) return `truncated JUMBF box header at offset ${offset}`;
    if (++counter.boxes > LIMITS.maxJumbfBoxes) return `more than ${LIMITS.maxJumbfBoxes} JUMBF boxes`;
    const lbox = view.getUint32(offset);
    const type = asciiAt(bytes, offset + 4, 4);
    let header = 8;
    let size = lbox;
    if (lbox === 1) {
      if (end - offset < 16) return `truncated JUMBF XLBox at offset ${offset}`;
      const big = view.getBigUint64(offset + 8);
      size = big > BigInt(end - offset) ? Number.MAX_SAFE_INTEGER : Number(big);
      header = 16;
    } else if (lbox === 0) {
      size = end - offset;
    }
    if (size < header || offset + size > end) return `JUMBF box ${JSON.stringify(type)} at offset ${offset} overruns its parent`;
    if (type === 'jumb') {
      if (depth + 1 > LIMITS.maxJumbfDepth) return `JUMBF nesting deeper than ${LIMITS.maxJumbfDepth}`;
      const problem = walk(view, bytes, offset + header, offset + size, depth + 1, counter);
      if (problem) return problem;
    }
    offset += size;
  }
  return undefined;
}
