import { deflateSync } from 'node:zlib';
import { jpegSegment, pngChunk, xmpPacket } from '../provenance/craft.js';
import { box } from './containers.js';
import type { Prng } from './prng.js';

/**
 * Byte-level builders for the hostile recipes: files that are valid up to the point where they
 * lie (sizes, counts, depths), made directly so that even 20 000-level JUMBF or 5 000-frame GIFs
 * cost milliseconds. Heavy payloads are built once per process.
 */

export const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function ihdr(width: number, height: number, colourType = 2, depth = 8): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width >>> 0, 0);
  data.writeUInt32BE(height >>> 0, 4);
  data[8] = depth;
  data[9] = colourType;
  return pngChunk('IHDR', data);
}

export function pngFile(width: number, height: number, idat: Buffer, extra: Buffer[] = [], colourType = 2): Buffer {
  return Buffer.concat([PNG_MAGIC, ihdr(width, height, colourType), ...extra, pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Heavy payloads (deflated zeros) are made once per process. */
const memo = new Map<string, Buffer>();
function once(key: string, make: () => Buffer): Buffer {
  let value = memo.get(key);
  if (!value) {
    value = make();
    memo.set(key, value);
  }
  return value;
}

/** `mb` MiB of zeros, deflated (about 1/1000 of that). */
export function zeroBomb(mb: number): Buffer {
  return once(`zeros-${mb}`, () => deflateSync(Buffer.alloc(mb * 1024 * 1024), { level: 9 }));
}

/** Raw greyscale scanlines (filter byte 0 + zeros) for a width×height image, deflated. */
export function greyIdat(width: number, height: number): Buffer {
  return once(`grey-${width}x${height}`, () => deflateSync(Buffer.alloc((width + 1) * height), { level: 9 }));
}

/** A GIF with `frames` 1×1 frames (each a few bytes) on a `width`×`height` screen. */
export function manyFrameGif(frames: number, width = 1, height = 1): Buffer {
  const head = Buffer.alloc(13);
  head.write('GIF89a', 0, 'latin1');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  head[10] = 0x80; // global colour table, 2 entries
  const gct = Buffer.from([0, 0, 0, 255, 255, 255]);
  const loop = Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]);
  const frame = Buffer.from([
    0x21, 0xf9, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, // graphic control: 10 ms
    0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0x00, // image descriptor 1×1
    0x02, 0x02, 0x44, 0x01, 0x00, // LZW data
  ]);
  const body = Buffer.alloc(frame.length * frames);
  for (let i = 0; i < frames; i++) frame.copy(body, i * frame.length);
  return Buffer.concat([head, gct, loop, body, Buffer.from([0x3b])]);
}

/** A JUMBF superbox `depth` levels deep, built in one buffer (concatenating per level would be quadratic). */
export function deepJumbf(depth: number): Buffer {
  const uuid = Buffer.from('6332706100110010800000aa00389b71', 'hex');
  const label = Buffer.from('c\0', 'latin1');
  const jumdSize = 8 + uuid.length + 1 + label.length;
  const perLevel = 8 + jumdSize;
  const leaf = box('json', Buffer.from('{"a":1}'));
  const total = perLevel * depth + leaf.length;
  const out = Buffer.alloc(total);
  let at = 0;
  for (let level = 0; level < depth; level++) {
    out.writeUInt32BE(total - at, at);
    out.write('jumb', at + 4, 'latin1');
    out.writeUInt32BE(jumdSize, at + 8);
    out.write('jumd', at + 12, 'latin1');
    uuid.copy(out, at + 16);
    out[at + 32] = 0x03;
    label.copy(out, at + 33);
    at += perLevel;
  }
  leaf.copy(out, at);
  return out;
}

/** JPEG APP11 segments carrying a JUMBF store the way C2PA does (CI, instance, sequence numbers). */
export function app11Segments(store: Buffer, instance = 1): Buffer[] {
  const max = 65_535 - 2 - 8;
  const segments: Buffer[] = [];
  for (let at = 0, seq = 1; at < store.length; at += max, seq++) {
    const head = Buffer.alloc(8);
    head.write('JP', 0, 'latin1');
    head.writeUInt16BE(instance, 2);
    head.writeUInt32BE(seq, 4);
    segments.push(jpegSegment(0xeb, Buffer.concat([head, store.subarray(at, at + max)])));
  }
  return segments;
}

/** A TIFF/EXIF blob whose IFD0 claims 0xFFFF entries and whose next-IFD pointer loops back to itself. */
export function loopingExif(random: Prng): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 * 4 + 4 + 64);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(random.chance(0.5) ? 0xffff : 4, 8);
  for (let i = 0; i < 4; i++) {
    const o = 10 + i * 12;
    tiff.writeUInt16LE(random.pick([0x8769, 0x8825, 0x010f, 0x9286, 0xa005]), o); // EXIF/GPS pointers, Make, UserComment
    tiff.writeUInt16LE(random.pick([2, 4, 7, 13]), o + 2);
    tiff.writeUInt32LE(random.pick([1, 0xffff, 0x7fffffff, 0xffffffff]), o + 4);
    tiff.writeUInt32LE(random.pick([8, 0, 0xfffffff0]), o + 8); // points at IFD0 again, or nowhere
  }
  tiff.writeUInt32LE(8, 10 + 48); // next IFD = IFD0
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
}

export function billionLaughs(): string {
  const entities = ['<!ENTITY lol "lol">'];
  for (let i = 1; i < 10; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
  return `<?xml version="1.0"?><!DOCTYPE x [${entities.join('')}]>${xmpPacket('<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:title="&lol9;"/>')}`;
}

/** Splits a payload over several segments of one marker, each with the namespace header. */
export function splitSegments(marker: number, header: Buffer, payload: Buffer): Buffer[] {
  const room = 65_533 - header.length;
  const out: Buffer[] = [];
  for (let at = 0; at < payload.length; at += room) out.push(jpegSegment(marker, Buffer.concat([header, payload.subarray(at, at + room)])));
  return out;
}
