import sharp from 'sharp';
import { boundedInflate } from './bounded-inflate.js';
import { LIMITS } from './limits.js';

const SIGNATURES = new Map([
  ['stealth_pnginfo', false],
  ['stealth_pngcomp', true],
]);
const SIGNATURE_BITS = 15 * 8;
const HEADER_BITS = SIGNATURE_BITS + 32;

export type StealthResult = { found: true; text: string; compressed: boolean } | { found: false; note?: string };

/**
 * AUTOMATIC1111 "stealth pnginfo": the parameters text hidden in the least significant bits of
 * the alpha channel, read column by column (x outer, y inner): a 15-byte signature
 * (`stealth_pnginfo` plain, `stealth_pngcomp` gzip), a 32-bit payload length in bits, then the
 * payload. Only images with alpha and at most LIMITS.stealthMaxPixels pixels are decoded, and
 * only the leftmost columns that could hold a payload of LIMITS.stealthMaxPayloadBytes.
 */
export async function readStealthPnginfo(bytes: Uint8Array): Promise<StealthResult> {
  const options = { limitInputPixels: LIMITS.stealthMaxPixels };
  const meta = await sharp(bytes, options).metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!meta.hasAlpha || width === 0 || height === 0) return { found: false };
  if (width * height > LIMITS.stealthMaxPixels) return { found: false, note: 'stealth pnginfo not checked: image too large' };
  if (meta.depth && meta.depth !== 'uchar') return { found: false, note: 'stealth pnginfo not checked: not 8-bit' };
  const columns = Math.min(width, Math.ceil((HEADER_BITS + 8 * LIMITS.stealthMaxPayloadBytes) / height));
  const { data, info } = await sharp(bytes, options)
    .extract({ left: 0, top: 0, width: columns, height })
    .extractChannel('alpha')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) return { found: false };
  const total = columns * height;
  const bit = (i: number): number => {
    // Bit i lives in column floor(i / height), row i % height.
    const x = Math.floor(i / height);
    const y = i - x * height;
    return (data[y * columns + x] ?? 0) & 1;
  };
  const readBytes = (startBit: number, count: number): Buffer => {
    const out = Buffer.alloc(count);
    for (let b = 0; b < count; b++) {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | bit(startBit + b * 8 + k);
      out[b] = v;
    }
    return out;
  };
  if (total < HEADER_BITS) return { found: false };
  const compressed = SIGNATURES.get(readBytes(0, 15).toString('latin1'));
  if (compressed === undefined) return { found: false };
  let lengthBits = 0;
  for (let k = 0; k < 32; k++) lengthBits = lengthBits * 2 + bit(SIGNATURE_BITS + k);
  if (lengthBits <= 0 || lengthBits > 8 * LIMITS.stealthMaxPayloadBytes || HEADER_BITS + lengthBits > total) {
    return { found: false, note: `stealth pnginfo signature found but payload length ${lengthBits} bits is out of range` };
  }
  const payload = readBytes(HEADER_BITS, Math.floor(lengthBits / 8));
  if (!compressed) return { found: true, text: payload.toString('utf8'), compressed };
  const inflated = boundedInflate(payload, 'gzip', 1024 * 1024);
  if (!inflated.ok) return { found: false, note: `stealth pnginfo payload ${inflated.error}` };
  return { found: true, text: inflated.bytes.toString('utf8'), compressed };
}
