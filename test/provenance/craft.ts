/** Builders for small, exact test files: PNG chunks, JPEG segments, WebP chunks, EXIF, JUMBF. */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { ImageFormat, ImageInput } from '../../src/intake/image-input.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A valid 1×1 RGB PNG with the given chunks between IHDR and IDAT. */
export function png(...chunks: Buffer[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const idat = deflateSync(Buffer.from([0, 128, 128, 128]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...chunks,
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export function tEXt(key: string, value: string): Buffer {
  return pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'utf8')]));
}

export function zTXtRaw(key: string, compressed: Uint8Array): Buffer {
  return pngChunk('zTXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0]), Buffer.from(compressed)]));
}

export function iTXt(key: string, value: string, compress = false): Buffer {
  const text = compress ? deflateSync(Buffer.from(value, 'utf8')) : Buffer.from(value, 'utf8');
  return pngChunk('iTXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, compress ? 1 : 0, 0, 0, 0]), text]));
}

export function jpegSegment(marker: number, data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** SOI, the segments, EOI: enough for a metadata reader (no image data). */
export function jpeg(...segments: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, Buffer.from([0xff, 0xd9])]);
}

export function xmpSegment(xml: string): Buffer {
  return jpegSegment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xml, 'utf8')]));
}

export function exifSegment(tiff: Buffer): Buffer {
  return jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
}

export function xmpPacket(description: string): string {
  return `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">${description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
}

interface IfdEntry {
  tag: number;
  type: 2 | 7;
  value: Buffer;
}

/**
 * A little-endian TIFF/EXIF blob: IFD0 with the ASCII tags given, and an EXIF IFD holding
 * UserComment when one is given.
 */
export function exifTiff(ifd0: Record<number, string>, userComment?: Buffer): Buffer {
  const entries0: IfdEntry[] = Object.entries(ifd0).map(([tag, v]) => ({ tag: Number(tag), type: 2, value: Buffer.from(`${v}\0`, 'latin1') }));
  const exifEntries: IfdEntry[] = userComment ? [{ tag: 0x9286, type: 7, value: userComment }] : [];
  const hasExif = exifEntries.length > 0;
  const ifd0Count = entries0.length + (hasExif ? 1 : 0);
  const ifd0Size = 2 + ifd0Count * 12 + 4;
  const exifOffset = 8 + ifd0Size;
  const exifSize = hasExif ? 2 + exifEntries.length * 12 + 4 : 0;
  let dataOffset = exifOffset + exifSize;
  const data: Buffer[] = [];
  const writeIfd = (list: IfdEntry[], extra: Buffer[]): Buffer => {
    const b = Buffer.alloc(2 + (list.length + extra.length) * 12 + 4);
    b.writeUInt16LE(list.length + extra.length, 0);
    let o = 2;
    const sorted = [...list];
    for (const e of sorted) {
      b.writeUInt16LE(e.tag, o);
      b.writeUInt16LE(e.type, o + 2);
      b.writeUInt32LE(e.value.length, o + 4);
      if (e.value.length <= 4) e.value.copy(b, o + 8);
      else {
        b.writeUInt32LE(dataOffset, o + 8);
        data.push(e.value);
        dataOffset += e.value.length + (e.value.length & 1);
        if (e.value.length & 1) data.push(Buffer.alloc(1));
      }
      o += 12;
    }
    for (const x of extra) {
      x.copy(b, o);
      o += 12;
    }
    return b;
  };
  const pointer = Buffer.alloc(12);
  pointer.writeUInt16LE(0x8769, 0);
  pointer.writeUInt16LE(4, 2);
  pointer.writeUInt32LE(1, 4);
  pointer.writeUInt32LE(exifOffset, 8);
  const ifd0Buf = writeIfd(entries0, hasExif ? [pointer] : []);
  const exifBuf = hasExif ? writeIfd(exifEntries, []) : Buffer.alloc(0);
  const header = Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]);
  return Buffer.concat([header, ifd0Buf, exifBuf, ...data]);
}

export function userCommentUnicode(text: string): Buffer {
  return Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), Buffer.from(text, 'utf16le')]);
}

export function webp(...chunks: { type: string; data: Buffer }[]): Buffer {
  const body = Buffer.concat(
    chunks.map(({ type, data }) => {
      const head = Buffer.alloc(8);
      head.write(type, 0, 'latin1');
      head.writeUInt32LE(data.length, 4);
      return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
    }),
  );
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length + 4, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, body]);
}

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** A JUMBF superbox labelled `label` (C2PA manifest-store UUID) around `content`. */
export function jumbfSuperbox(label: string, content: Buffer): Buffer {
  const uuid = Buffer.from('6332706100110010800000aa00389b71', 'hex');
  const jumd = box('jumd', Buffer.concat([uuid, Buffer.from([0x03]), Buffer.from(`${label}\0`, 'latin1')]));
  return box('jumb', Buffer.concat([jumd, content]));
}

/** `depth` superboxes nested inside each other, the outermost labelled c2pa. */
export function nestedJumbf(depth: number, json = '{}'): Buffer {
  let inner = box('json', Buffer.from(json));
  for (let i = 0; i < depth - 1; i++) inner = jumbfSuperbox(`n${i}`, inner);
  return jumbfSuperbox('c2pa', inner);
}

export function imageInput(bytes: Buffer, format: ImageFormat): ImageInput {
  return { bytes, format, width: 1, height: 1, orientation: 1, sha256: createHash('sha256').update(bytes).digest('hex'), source: 'test' };
}
