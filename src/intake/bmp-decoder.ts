import { GenguardError } from '../errors/genguard-error.js';

/**
 * BMP, read by hand because sharp's libvips build has no BMP loader. Covers what writers
 * produce in practice: core/info/V2–V5/OS2 headers, 1/4/8-bit palettes, RLE8/RLE4, 16/24/32-bit
 * with or without bit-field masks and alpha. Embedded JPEG/PNG payloads are refused.
 */
export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  dataOffset: number;
  paletteOffset: number;
  paletteEntrySize: 3 | 4;
  paletteSize: number;
  masks: { r: number; g: number; b: number; a: number } | undefined;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

export function readBmpHeader(bytes: Buffer): BmpHeader {
  if (bytes.length < 26) throw corrupt('the BMP header is truncated');
  const headerSize = bytes.readUInt32LE(14);
  if (bytes.length < 14 + headerSize) throw corrupt('the BMP header is truncated');
  const dataOffset = bytes.readUInt32LE(10);

  if (headerSize === 12) {
    const bpp = bytes.readUInt16LE(24);
    if (![1, 4, 8, 24].includes(bpp)) throw unsupported(`${bpp}-bit OS/2 BMP`);
    return checked({
      width: bytes.readUInt16LE(18),
      height: bytes.readUInt16LE(20),
      topDown: false,
      bitsPerPixel: bpp,
      compression: BI_RGB,
      dataOffset,
      paletteOffset: 26,
      paletteEntrySize: 3,
      paletteSize: bpp <= 8 ? 1 << bpp : 0,
      masks: undefined,
    });
  }

  const width = bytes.readInt32LE(18);
  const rawHeight = bytes.readInt32LE(22);
  const bpp = bytes.readUInt16LE(28);
  const compression = bytes.readUInt32LE(30);
  const colorsUsed = bytes.readUInt32LE(46);

  if (compression === BI_JPEG || compression === BI_PNG) throw unsupported('BMP with an embedded JPEG/PNG');
  // OS/2 2.x reuses 3 and 4 for Huffman and RLE24.
  if (headerSize === 64 && compression > BI_RLE4) throw unsupported('compressed OS/2 BMP');
  const valid =
    (compression === BI_RGB && [1, 4, 8, 16, 24, 32].includes(bpp)) ||
    (compression === BI_RLE8 && bpp === 8) ||
    (compression === BI_RLE4 && bpp === 4) ||
    ((compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) && (bpp === 16 || bpp === 32));
  if (!valid) throw unsupported(`BMP with ${bpp} bits per pixel and compression ${compression}`);

  let masks: BmpHeader['masks'];
  let paletteOffset = 14 + headerSize;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    const withAlpha = compression === BI_ALPHABITFIELDS || headerSize >= 56;
    if (headerSize === 40) paletteOffset += withAlpha ? 16 : 12;
    if (bytes.length < 54 + (withAlpha ? 16 : 12)) throw corrupt('the BMP colour masks are truncated');
    masks = {
      r: bytes.readUInt32LE(54),
      g: bytes.readUInt32LE(58),
      b: bytes.readUInt32LE(62),
      a: withAlpha ? bytes.readUInt32LE(66) : 0,
    };
  } else if (bpp === 16) {
    masks = { r: 0x7c00, g: 0x03e0, b: 0x001f, a: 0 };
  } else if (bpp === 32) {
    // Plain 32-bit: the fourth byte is padding unless a V3+ header declares it as alpha.
    const alpha = headerSize >= 56 && bytes.readUInt32LE(66) === 0xff000000 ? 0xff000000 : 0;
    masks = { r: 0x00ff0000, g: 0x0000ff00, b: 0x000000ff, a: alpha };
  }

  const paletteSize = bpp <= 8 ? Math.min(colorsUsed === 0 ? 1 << bpp : colorsUsed, 1 << bpp) : 0;
  return checked({
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel: bpp,
    compression,
    dataOffset,
    paletteOffset,
    paletteEntrySize: 4,
    paletteSize,
    masks,
  });
}

function checked(header: BmpHeader): BmpHeader {
  if (header.width <= 0 || header.height <= 0) throw corrupt(`the BMP declares ${header.width}×${header.height} pixels`);
  if (header.topDown && (header.compression === BI_RLE8 || header.compression === BI_RLE4)) {
    throw corrupt('a top-down BMP cannot be RLE-compressed');
  }
  return header;
}

/** Full decode to 8-bit RGB, rows top to bottom, alpha (if any) flattened onto white. */
export function decodeBmp(bytes: Buffer, header: BmpHeader = readBmpHeader(bytes)): { data: Buffer; width: number; height: number } {
  const { width, height } = header;
  const palette = readPalette(bytes, header);
  const out = Buffer.alloc(width * height * 3, 0xff);
  if (header.compression === BI_RLE8 || header.compression === BI_RLE4) {
    decodeRle(bytes, header, palette, out);
    return { data: out, width, height };
  }

  const bpp = header.bitsPerPixel;
  const stride = Math.ceil((bpp * width) / 32) * 4;
  const lastRowEnd = header.dataOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8);
  if (header.dataOffset < 14 || lastRowEnd > bytes.length) throw corrupt('the BMP pixel data is truncated');

  const masks = header.masks;
  const fields = masks && {
    r: maskField(masks.r),
    g: maskField(masks.g),
    b: maskField(masks.b),
    a: maskField(masks.a),
  };
  const readPixel = (row: number, x: number): number =>
    bpp === 16 ? bytes.readUInt16LE(row + x * 2) : bytes.readUInt32LE(row + x * 4);
  // Writers often leave a declared alpha channel all zero; such an image is meant opaque.
  let useAlpha = fields !== undefined && fields.a.mask !== 0;
  if (useAlpha && fields) {
    useAlpha = false;
    scan: for (let y = 0; y < height; y++) {
      const row = header.dataOffset + y * stride;
      for (let x = 0; x < width; x++) {
        if (fields.a.read(readPixel(row, x)) !== 0) {
          useAlpha = true;
          break scan;
        }
      }
    }
  }

  for (let y = 0; y < height; y++) {
    const row = header.dataOffset + (header.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bpp <= 8) {
        const bit = x * bpp;
        const index = (bytes[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        writePaletteColour(palette, index, out, o);
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      } else if (fields) {
        const px = readPixel(row, x);
        const a = useAlpha ? fields.a.read(px) : 255;
        out[o] = onWhite(fields.r.read(px), a);
        out[o + 1] = onWhite(fields.g.read(px), a);
        out[o + 2] = onWhite(fields.b.read(px), a);
      }
    }
  }
  return { data: out, width, height };
}

function readPalette(bytes: Buffer, header: BmpHeader): Uint8Array {
  const size = header.paletteSize;
  const palette = new Uint8Array(256 * 3);
  if (size === 0) return palette;
  if (header.paletteOffset + size * header.paletteEntrySize > bytes.length) throw corrupt('the BMP palette is truncated');
  for (let i = 0; i < size; i++) {
    const p = header.paletteOffset + i * header.paletteEntrySize;
    palette[i * 3] = bytes[p + 2]!;
    palette[i * 3 + 1] = bytes[p + 1]!;
    palette[i * 3 + 2] = bytes[p]!;
  }
  return palette;
}

function writePaletteColour(palette: Uint8Array, index: number, out: Buffer, o: number): void {
  out[o] = palette[index * 3]!;
  out[o + 1] = palette[index * 3 + 1]!;
  out[o + 2] = palette[index * 3 + 2]!;
}

/** RLE8/RLE4, bottom-up. Pixels skipped by delta codes stay white (they are meant transparent). */
function decodeRle(bytes: Buffer, header: BmpHeader, palette: Uint8Array, out: Buffer): void {
  const { width, height } = header;
  const four = header.compression === BI_RLE4;
  let pos = header.dataOffset;
  let x = 0;
  let y = 0;
  const put = (index: number): void => {
    if (x < width && y < height) writePaletteColour(palette, index, out, ((height - 1 - y) * width + x) * 3);
    x++;
  };
  for (;;) {
    if (y >= height) return;
    if (pos + 2 > bytes.length) throw corrupt('the BMP RLE data is truncated');
    const count = bytes[pos]!;
    const value = bytes[pos + 1]!;
    pos += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(four ? (i % 2 === 0 ? value >> 4 : value & 0x0f) : value);
    } else if (value === 0) {
      x = 0;
      y++;
    } else if (value === 1) {
      return;
    } else if (value === 2) {
      if (pos + 2 > bytes.length) throw corrupt('the BMP RLE data is truncated');
      x += bytes[pos]!;
      y += bytes[pos + 1]!;
      pos += 2;
    } else {
      const byteCount = four ? Math.ceil(value / 2) : value;
      if (pos + byteCount > bytes.length) throw corrupt('the BMP RLE data is truncated');
      for (let i = 0; i < value; i++) {
        put(four ? (i % 2 === 0 ? bytes[pos + (i >> 1)]! >> 4 : bytes[pos + (i >> 1)]! & 0x0f) : bytes[pos + i]!);
      }
      pos += byteCount + (byteCount & 1);
    }
  }
}

function maskField(mask: number): { mask: number; read: (px: number) => number } {
  if (mask === 0) return { mask, read: () => 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (shift + bits < 32 && ((mask >>> (shift + bits)) & 1) === 1) bits++;
  const max = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  return {
    mask,
    read: (px) => {
      const v = ((px & mask) >>> shift) & max;
      return bits >= 8 ? Math.floor(v / 2 ** (bits - 8)) : Math.round((v * 255) / max);
    },
  };
}

function onWhite(c: number, a: number): number {
  return a === 255 ? c : Math.round((c * a + 255 * (255 - a)) / 255);
}

function corrupt(what: string): GenguardError {
  return new GenguardError('decode_failed', `cannot decode the image: ${what}`);
}

function unsupported(what: string): GenguardError {
  return new GenguardError('unsupported_format', `unsupported image format: ${what}`);
}
