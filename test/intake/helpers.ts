import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { IntakeLimits } from '../../src/config/load-config.js';
import { GenguardError, type ErrorCode } from '../../src/errors/genguard-error.js';

export function limits(overrides: Partial<IntakeLimits> = {}): IntakeLimits {
  return {
    maxBytes: 10 * 1024 * 1024,
    maxPixels: 40_000_000,
    fetchTimeoutMs: 5_000,
    maxRedirects: 3,
    allowHosts: [],
    ...overrides,
  };
}

/** Awaits `promise`, asserts it rejected with a GenguardError of `code`, and returns that error. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<GenguardError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a GenguardError "${code}"`).toBeInstanceOf(GenguardError);
  expect((caught as GenguardError).code, (caught as Error).message).toBe(code);
  return caught as GenguardError;
}

// ---------------------------------------------------------------- crafted images

type SharpFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';

/** A solid-colour image in `format`, made in memory. */
export async function solidImage(format: SharpFormat, width: number, height: number, colour = '#ff0000'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: colour } });
  return format === 'jpeg' ? img.jpeg({ quality: 95 }).toBuffer() : img.toFormat(format).toBuffer();
}

/** A two-frame animation: the first frame `first`, the second `second`. */
export async function animation(format: 'gif' | 'webp', first = '#ff0000', second = '#0000ff'): Promise<Buffer> {
  const frame = (colour: string) => sharp({ create: { width: 16, height: 12, channels: 3, background: colour } }).png().toBuffer();
  const frames = [await frame(first), await frame(second)];
  const joined = sharp(frames, { join: { animated: true } });
  return (format === 'gif' ? joined.gif({ delay: [100, 100] }) : joined.webp({ delay: [100, 100], lossless: true })).toBuffer();
}

/** A JPEG stored sideways: left half red, right half blue, with the EXIF orientation given. */
export async function orientedJpeg(orientation: number, width = 64, height = 32): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (x < width / 2) raw[o] = 255;
      else raw[o + 2] = 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation })
    .toBuffer();
}

/** A noisy JPEG, so that cutting it anywhere loses real image data. */
export async function noisyJpeg(width = 128, height = 96): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A tiny, valid-CRC PNG whose IHDR declares `width`×`height` (a decompression bomb's header). */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ISO-BMFF file with only an ftyp box (what HEIC/AVIF files start with). */
export function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + compatible.length * 4;
  const box = Buffer.alloc(size + 16);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + i * 4, 'latin1'));
  return box;
}

export interface BmpSpec {
  width: number;
  height: number;
  bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  /** Rows top to bottom, each row's packed pixel bytes without padding. */
  rows: number[][];
  palette?: Array<[number, number, number]>;
  topDown?: boolean;
  /** BI_BITFIELDS masks (r, g, b, a) written after a 40-byte header. */
  masks?: [number, number, number, number];
  compression?: number;
  /** Write 3 masks after a 40-byte header (BI_BITFIELDS the old way) instead of a V3 header. */
  masksAfterInfoHeader?: boolean;
  /** Pre-compressed (RLE) pixel data instead of `rows`. */
  data?: number[];
}

/**
 * A BMP written byte by byte (sharp cannot write BMP). BITMAPINFOHEADER, with a V3-style
 * mask block (including alpha) when `masks` is given.
 */
export function bmp(spec: BmpSpec): Buffer {
  const { width, height, bitsPerPixel } = spec;
  const stride = Math.ceil((bitsPerPixel * width) / 32) * 4;
  const palette = spec.palette ?? [];
  // With masks, a 56-byte (V3) header holds the four masks itself; the old way puts three after a 40-byte one.
  const after = spec.masks !== undefined && spec.masksAfterInfoHeader === true;
  const headerSize = spec.masks && !after ? 56 : 40;
  const dataOffset = 14 + headerSize + (after ? 12 : 0) + palette.length * 4;
  let pixels: Buffer;
  if (spec.data) {
    pixels = Buffer.from(spec.data);
  } else {
    pixels = Buffer.alloc(stride * height);
    spec.rows.forEach((row, y) => {
      const fileRow = spec.topDown ? y : height - 1 - y;
      Buffer.from(row).copy(pixels, fileRow * stride);
    });
  }
  const out = Buffer.alloc(dataOffset + pixels.length);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(dataOffset, 10);
  out.writeUInt32LE(headerSize, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(spec.topDown ? -height : height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bitsPerPixel, 28);
  out.writeUInt32LE(spec.compression ?? (spec.masks ? 3 : 0), 30);
  out.writeUInt32LE(pixels.length, 34);
  out.writeUInt32LE(palette.length, 46);
  if (spec.masks) spec.masks.slice(0, after ? 3 : 4).forEach((m, i) => out.writeUInt32LE(m >>> 0, 54 + i * 4));
  palette.forEach(([r, g, b], i) => {
    const p = dataOffset - palette.length * 4 + i * 4;
    out[p] = b;
    out[p + 1] = g;
    out[p + 2] = r;
  });
  pixels.copy(out, dataOffset);
  return out;
}

// ---------------------------------------------------------------- local HTTP servers

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:4242 (or with `hostname` when given). */
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections: () => number;
  /** Requests received, in order. */
  requests: http.IncomingMessage[];
  close: () => Promise<void>;
}

export async function startServer(
  handler: http.RequestListener,
  options: { hostname?: string; listen?: string } = {},
): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = options.listen ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, listen, resolve));
  const port = (server.address() as AddressInfo).port;
  const host = options.hostname ?? (listen.includes(':') ? `[${listen}]` : listen);
  return {
    url: `http://${host}:${port}`,
    port,
    connections: () => connections,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
