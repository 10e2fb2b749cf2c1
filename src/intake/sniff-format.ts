import type { ImageFormat } from './image-input.js';

/**
 * Tells the image format from the first bytes (64 are enough for every accepted format).
 * Never trust an extension or a Content-Type: Discord and Slack serve PNGs named .jpg, and an
 * expired link answers an HTML page with a 200.
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (isAvif(bytes)) return 'avif';
  if (isBmp(bytes)) return 'bmp';
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return 'tiff';
  }
  return undefined;
}

/** What a refused input looks like, for the error message ("looks like an HTML page"). */
export function describeContent(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'empty';
  if (looksLikeHtml(bytes)) return 'an HTML page';
  const text = leadingText(bytes, 1024).toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'an SVG image';
  if (text.startsWith('<?xml')) return 'an XML document';
  if (ascii(bytes, 0, 5) === '%PDF-') return 'a PDF document';
  const brand = ftypBrands(bytes)?.[0];
  if (brand !== undefined && HEIC_BRANDS.has(brand)) return 'a HEIC image';
  if (brand !== undefined) return `an ISO media file (brand "${brand}")`;
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 8) === 'JXL ') return 'a JPEG XL image';
  if (text.startsWith('{') || text.startsWith('[')) return 'JSON or text';
  if (isMostlyText(bytes)) return 'text';
  return 'unrecognised binary data';
}

/**
 * An HTML document (login pages, error pages, link previews). Only the start is looked at,
 * after an optional BOM and whitespace.
 */
export function looksLikeHtml(bytes: Uint8Array): boolean {
  const text = leadingText(bytes, 1024).toLowerCase();
  if (!text.startsWith('<')) return false;
  return /^<!doctype html|^<html|^<head|^<body|^<meta|^<title|^<script|^<!--/.test(text) || text.includes('<html');
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/** AVIF is an ISO-BMFF file whose ftyp names an AVIF brand; HEIC (same container, HEVC) is not accepted. */
function isAvif(bytes: Uint8Array): boolean {
  const brands = ftypBrands(bytes);
  if (brands === undefined) return false;
  const [major, ...compatible] = brands;
  if (major === undefined || HEIC_BRANDS.has(major)) return false;
  return AVIF_BRANDS.has(major) || compatible.some((b) => AVIF_BRANDS.has(b));
}

/** Major brand then compatible brands of a leading `ftyp` box, as far as `bytes` reach. */
function ftypBrands(bytes: Uint8Array): string[] | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const size = readU32BE(bytes, 0);
  if (size < 16) return undefined;
  const end = Math.min(size, bytes.length);
  const brands = [ascii(bytes, 8, 12)];
  // Offset 12 holds the minor version; compatible brands follow.
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(bytes, at, at + 4));
  return brands;
}

const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/** "BM" alone is too weak (text can start with it), so the DIB header size must be a known one too. */
function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 18 && bytes[0] === 0x42 && bytes[1] === 0x4d && BMP_HEADER_SIZES.has(readU32LE(bytes, 14));
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  if (bytes.length < end) return '';
  return String.fromCharCode(...bytes.subarray(start, end));
}

function readU32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return ((bytes[at + 3]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 1]! << 8) | bytes[at]!) >>> 0;
}

function leadingText(bytes: Uint8Array, max: number): string {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.max(0, Math.min(bytes.length, max) - start))
    .toString('latin1')
    .trimStart();
}

function isMostlyText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  let printable = 0;
  for (const b of sample) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127)) printable++;
  return printable / sample.length > 0.95 && !sample.includes(0);
}
