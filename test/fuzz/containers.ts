/**
 * Walkers over the container structures the fuzzer corrupts: where the length fields of PNG
 * chunks, JPEG segments, RIFF chunks and ISO-BMFF/JUMBF boxes sit, so a mutation can hit a
 * length (what parsers trust most) instead of a random byte.
 */

export interface LengthField {
  /** Offset of the length field. */
  at: number;
  /** Field width in bytes. */
  width: 2 | 4;
  endian: 'be' | 'le';
  /** What the length describes (chunk type, marker), for the case name. */
  label: string;
}

export function pngLengths(bytes: Buffer): LengthField[] {
  const out: LengthField[] = [];
  let at = 8;
  while (at + 8 <= bytes.length && out.length < 4096) {
    const length = bytes.readUInt32BE(at);
    out.push({ at, width: 4, endian: 'be', label: `png:${bytes.toString('latin1', at + 4, at + 8)}` });
    at += 12 + length;
  }
  return out;
}

export function jpegLengths(bytes: Buffer): LengthField[] {
  const out: LengthField[] = [];
  let at = 2;
  while (at + 4 <= bytes.length && out.length < 4096) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    if (marker === 0xd9 || marker === 0xda) {
      if (marker === 0xda) out.push({ at: at + 2, width: 2, endian: 'be', label: 'jpeg:SOS' });
      break;
    }
    if (marker >= 0xd0 && marker <= 0xd7) {
      at += 2;
      continue;
    }
    out.push({ at: at + 2, width: 2, endian: 'be', label: `jpeg:${marker.toString(16)}` });
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return out;
}

export function riffLengths(bytes: Buffer): LengthField[] {
  const out: LengthField[] = [{ at: 4, width: 4, endian: 'le', label: 'riff:RIFF' }];
  let at = 12;
  while (at + 8 <= bytes.length && out.length < 4096) {
    const size = bytes.readUInt32LE(at + 4);
    out.push({ at: at + 4, width: 4, endian: 'le', label: `riff:${bytes.toString('latin1', at, at + 4)}` });
    at += 8 + size + (size & 1);
  }
  return out;
}

/** ISO-BMFF boxes (AVIF, and JUMBF inside C2PA), recursing into the containers we know. */
const CONTAINER_BOXES = new Set(['meta', 'iprp', 'ipco', 'iinf', 'dinf', 'jumb', 'moov', 'trak', 'mdia', 'minf', 'stbl']);

export function boxLengths(bytes: Buffer, start = 0, end = bytes.length, depth = 0, out: LengthField[] = []): LengthField[] {
  let at = start;
  while (at + 8 <= end && out.length < 4096 && depth < 12) {
    const size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (!/^[a-zA-Z0-9 ]{4}$/.test(type)) break;
    out.push({ at, width: 4, endian: 'be', label: `box:${type}` });
    if (size < 8 || at + size > end) break;
    if (CONTAINER_BOXES.has(type)) {
      // meta is a full box: 4 bytes of version/flags before its children.
      boxLengths(bytes, at + (type === 'meta' ? 12 : 8), at + size, depth + 1, out);
    }
    at += size;
  }
  return out;
}

/** Every length field we can find, whatever the format. */
export function lengthFields(bytes: Buffer): LengthField[] {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return pngLengths(bytes);
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegLengths(bytes);
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF') return riffLengths(bytes);
  if (bytes.length >= 8 && bytes.toString('latin1', 4, 8) === 'ftyp') return boxLengths(bytes);
  return [];
}

export function writeLength(bytes: Buffer, field: LengthField, value: number): void {
  if (field.at + field.width > bytes.length) return;
  if (field.width === 2) {
    const v = value & 0xffff;
    if (field.endian === 'be') bytes.writeUInt16BE(v, field.at);
    else bytes.writeUInt16LE(v, field.at);
  } else {
    const v = value >>> 0;
    if (field.endian === 'be') bytes.writeUInt32BE(v, field.at);
    else bytes.writeUInt32LE(v, field.at);
  }
}

export function readLength(bytes: Buffer, field: LengthField): number {
  if (field.at + field.width > bytes.length) return 0;
  if (field.width === 2) return field.endian === 'be' ? bytes.readUInt16BE(field.at) : bytes.readUInt16LE(field.at);
  return field.endian === 'be' ? bytes.readUInt32BE(field.at) : bytes.readUInt32LE(field.at);
}

/** Offset of the first occurrence of a 4-character code, or -1. */
export function findFourCC(bytes: Buffer, fourcc: string, from = 0): number {
  return bytes.indexOf(Buffer.from(fourcc, 'latin1'), from);
}

/** An ISO-BMFF box (size, type, payload). */
export function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}
