import sharp from 'sharp';
import { LIMITS } from './limits.js';

/**
 * The open `invisible-watermark` library's "dwtDct" mark (github.com/ShieldMnt/invisible-watermark,
 * imwatermark/maxDct.py, EmbedMaxDct), which Stable Diffusion's reference scripts, diffusers' SDXL
 * pipelines, Stability's generative-models and the FLUX.1 reference code embed by default. What the
 * upstream code does (read from the source; tools/make-watermark-fixtures.py restates it):
 *
 * - cv2.cvtColor(BGR2YUV) on the array it is handed. Only U carries the mark: the channel loop is
 *   `range(2)` with scales [0, 36, 36], so Y is skipped (scale 0) and V is never reached.
 * - pywt.dwt2(U[:rows//4*4, :cols//4*4], 'haar'), LL band only; LL is cut into 4×4 blocks, row
 *   by row, and block k carries message bit k % length.
 * - No DCT happens in this path despite the name: the block entry with the largest |value| among
 *   the 15 after [0][0] is quantised to (|v| // 36 + 0.25 + 0.5·bit)·36. Decoding reads
 *   bit = (|v| % 36) > 18 at that entry and averages each message bit over its blocks
 *   (`mean · 255 > 127`).
 *
 * The U values depend on what the generator handed over, so the same pixels are read four ways
 * ("views"): uint8 arrays (SD 1.x/2.x scripts; U is offset by 128) or float32 arrays (diffusers,
 * generative-models, FLUX; U is offset by 0.5, which moves |v| % 36), each in BGR order as the
 * library expects, or in RGB order (diffusers passed RGB until PR #7013, February 2024). The
 * `u8-bgr` view is bit-exact with the upstream decoder run on a cv2.imread array (integer YUV as
 * OpenCV computes it for 8-bit input, pywt's haar arithmetic reproduced operation for operation).
 *
 * The mark lives on the generator's pixel grid: resizing, cropping at the top or left, screenshots
 * and most re-encoding remove it (a quality-95 JPEG of a fixture still decoded). Flat-chroma areas read 0 bits as 1 (the lowered
 * entry stops being the block maximum), so plain images and small images fail to decode; a miss
 * says nothing. Anyone can embed these public messages into any image, like any metadata.
 */

export type WatermarkView = 'u8-bgr' | 'u8-rgb' | 'f32-bgr' | 'f32-rgb';
export const WATERMARK_VIEWS: readonly WatermarkView[] = ['u8-bgr', 'u8-rgb', 'f32-bgr', 'f32-rgb'];

export interface KnownWatermark {
  id: 'sdxl' | 'flux' | 'sd1' | 'sd2';
  label: string;
  bits: readonly number[];
  /** Most differing bits still counted as the mark. */
  maxDistance: number;
  /** Up to this many differing bits is reported as a note only, never as evidence. */
  nearDistance: number;
  /** Views the known embedders produce; the others are not tried, which keeps chance matches rarer. */
  views: readonly WatermarkView[];
}

function bitsOf(binary: string): number[] {
  return [...binary].map((c) => (c === '1' ? 1 : 0));
}

function bitsOfText(text: string): number[] {
  return [...Buffer.from(text, 'utf8')].flatMap((byte) => Array.from({ length: 8 }, (_, k) => (byte >> (7 - k)) & 1));
}

/**
 * The messages in use. Chance of an unmarked image matching, if its decoded bits were fair coins
 * (sum over d ≤ maxDistance of C(n, d) / 2^n, per view tried):
 * - SDXL, 48 bits, ≤ 4 differing: 213,053 / 2^48 ≈ 7.6e-10 (× 4 views ≈ 3.0e-9);
 * - FLUX.1, 46 bits, ≤ 4: 179,447 / 2^46 ≈ 2.6e-9 (× 2 views ≈ 5.1e-9);
 * - "SDV2", 32 bits, ≤ 1: 33 / 2^32 ≈ 7.7e-9;
 * - "StableDiffusionV1", 136 bits, ≤ 34 (25 %): ≈ 2.2e-9. A 136-bit message gets a third of the
 *   votes per bit a 48-bit one gets, so it decodes with more bit errors; the share allowed is set
 *   for a chance rate like the others'.
 * Real photos decode to structured, not random, bits (mostly 1s from flat areas); Stability's own
 * detector saw no real image above 35/48 in 10,000 (scripts/demo/detect.py in generative-models),
 * and the 2,499 images of ../shared/datasets reach at most 37/48 (SDXL), 35/46 (FLUX), 84/136
 * ("StableDiffusionV1") and 24/32 ("SDV2") in any view.
 */
export const KNOWN_WATERMARKS: readonly KnownWatermark[] = [
  {
    id: 'sdxl',
    label: 'Stable Diffusion XL (diffusers / Stability)',
    // diffusers pipelines/stable_diffusion_xl/watermark.py and generative-models: WATERMARK_MESSAGE.
    bits: bitsOf('101100111110110010010000011110111011000110011110'),
    maxDistance: 4,
    nearDistance: 8,
    views: WATERMARK_VIEWS,
  },
  {
    id: 'flux',
    label: 'FLUX.1 (Black Forest Labs reference code)',
    // black-forest-labs/flux src/flux/util.py: 0b0010…1110 through bin()[2:], which drops the two
    // leading zeros, so 46 bits are embedded.
    bits: bitsOf('1010101111111010000111100111001111010100101110'),
    maxDistance: 4,
    nearDistance: 8,
    views: ['f32-bgr', 'u8-bgr'],
  },
  {
    id: 'sd1',
    label: 'Stable Diffusion 1.x reference scripts ("StableDiffusionV1")',
    bits: bitsOfText('StableDiffusionV1'),
    maxDistance: 34,
    nearDistance: 44,
    views: ['u8-bgr'],
  },
  {
    id: 'sd2',
    label: 'Stable Diffusion 2.x reference scripts ("SDV2")',
    bits: bitsOfText('SDV2'),
    maxDistance: 1,
    nearDistance: 3,
    views: ['u8-bgr'],
  },
];

/** The upstream library refuses to embed or decode below this many pixels (watermark.py). */
export const WATERMARK_MIN_PIXELS = 256 * 256;

/**
 * Blocks read at most: all of a 1024×1024 image (exactly what the upstream decoder reads), the top
 * rows of larger ones (still ≥ 341 votes per bit of a 48-bit message).
 */
export const WATERMARK_MAX_BLOCKS = 128 * 128;

/** Interleaved 8-bit pixels, R G B first in each pixel (any further channel is ignored). */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Per-block bits for every view, in upstream block order. */
export type BlockBits = Record<WatermarkView, Uint8Array>;

const SCALE = 36;
const HALF_SCALE = SCALE / 2;

// pywt's haar filter taps are this double, not an exact 1/√2; LL in pywt's operation order is
// not always (a + b + c + d) / 2 to the last bit, and `% 36 > 18` can hinge on that bit.
const HAAR = 0.7071067811865476;

// OpenCV's 8-bit BGR2YUV (fixed point, 14 fraction bits, round half up, saturate), as tables:
// Y = (1868·B + 9617·G + 4899·R + 2^13) >> 14, U = sat((B − Y)·8061 + 128·2^14 + 2^13) >> 14).
// Exact for every 8-bit input (checked against cv2 over all 2^24 colours).
const Y_FIRST = Int32Array.from({ length: 256 }, (_, v) => v * 1868);
const Y_G = Int32Array.from({ length: 256 }, (_, v) => v * 9617);
const Y_THIRD = Int32Array.from({ length: 256 }, (_, v) => v * 4899);
const U_OF_DIFF = Int32Array.from({ length: 511 }, (_, i) => Math.min(255, Math.max(0, ((i - 255) * 8061 + (128 << 14) + 8192) >> 14)));
// OpenCV's float BGR2YUV: U = (B − Y)·0.492 + 0.5 with Y = 0.299·R + 0.587·G + 0.114·B. It is
// linear, so LL (the 2×2 sum / 2) comes straight from channel sums; float64 here, float32 there.
const F_FIRST = 0.246 * (1 - 0.114);
const F_G = 0.246 * -0.587;
const F_THIRD = 0.246 * -0.299;

/**
 * Reads one bit from every 4×4 LL block of U, for all four views in one pass over the pixels.
 * Works on any size; pixels outside whole blocks are ignored, as upstream ignores them.
 */
export function decodeBlockBits(pixels: RgbPixels): BlockBits {
  const { data, width, height, channels } = pixels;
  if (channels < 3) throw new RangeError('need at least 3 channels');
  const blockRows = Math.floor(Math.floor(height / 4) / 2);
  const blockCols = Math.floor(Math.floor(width / 4) / 2);
  const count = blockRows * blockCols;
  const u8Bgr = new Uint8Array(count);
  const u8Rgb = new Uint8Array(count);
  const f32Bgr = new Uint8Array(count);
  const f32Rgb = new Uint8Array(count);
  const stride = width * channels;
  let k = 0;
  for (let bi = 0; bi < blockRows; bi++) {
    for (let bj = 0; bj < blockCols; bj++) {
      // Largest |LL| over the block's entries 1..15 (entry [0][0] is skipped; np.argmax picks
      // the first of equals, and only the value decides the bit).
      let maxU8Bgr = 0;
      let maxU8Rgb = 0;
      let maxF32Bgr = 0;
      let maxF32Rgb = 0;
      for (let r = 0; r < 4; r++) {
        const row0 = (bi * 8 + 2 * r) * stride + bj * 8 * channels;
        for (let c = r === 0 ? 1 : 0; c < 4; c++) {
          // pywt order: a, b on the upper row, c, d below; pairs of rows are combined first.
          const pa = row0 + 2 * c * channels;
          const pb = pa + channels;
          const pc = pa + stride;
          const pd = pc + channels;
          const ra = data[pa]!, ga = data[pa + 1]!, ba = data[pa + 2]!;
          const rb = data[pb]!, gb = data[pb + 1]!, bb = data[pb + 2]!;
          const rc = data[pc]!, gc = data[pc + 1]!, bc = data[pc + 2]!;
          const rd = data[pd]!, gd = data[pd + 1]!, bd = data[pd + 2]!;
          const llBgr = haarLL(u8(ba, ga, ra), u8(bb, gb, rb), u8(bc, gc, rc), u8(bd, gd, rd));
          const llRgb = haarLL(u8(ra, ga, ba), u8(rb, gb, bb), u8(rc, gc, bc), u8(rd, gd, bd));
          const sr = ra + rb + rc + rd;
          const sg = ga + gb + gc + gd;
          const sb = ba + bb + bc + bd;
          const fBgr = Math.abs(F_FIRST * sb + F_G * sg + F_THIRD * sr + 1);
          const fRgb = Math.abs(F_FIRST * sr + F_G * sg + F_THIRD * sb + 1);
          if (llBgr > maxU8Bgr) maxU8Bgr = llBgr;
          if (llRgb > maxU8Rgb) maxU8Rgb = llRgb;
          if (fBgr > maxF32Bgr) maxF32Bgr = fBgr;
          if (fRgb > maxF32Rgb) maxF32Rgb = fRgb;
        }
      }
      u8Bgr[k] = bitOf(maxU8Bgr);
      u8Rgb[k] = bitOf(maxU8Rgb);
      f32Bgr[k] = bitOf(maxF32Bgr);
      f32Rgb[k] = bitOf(maxF32Rgb);
      k++;
    }
  }
  return { 'u8-bgr': u8Bgr, 'u8-rgb': u8Rgb, 'f32-bgr': f32Bgr, 'f32-rgb': f32Rgb };
}

/** U of one pixel in the u8 views; `first` is the array's first channel (B in BGR order). */
function u8(first: number, g: number, third: number): number {
  return U_OF_DIFF[first - ((Y_FIRST[first]! + Y_G[g]! + Y_THIRD[third]! + 8192) >> 14) + 255]!;
}

/** pywt.dwt2(…, 'haar') LL of a 2×2 patch [[a, b], [c, d]] of non-negative values. */
function haarLL(a: number, b: number, c: number, d: number): number {
  return (HAAR * a + HAAR * c) * HAAR + (HAAR * b + HAAR * d) * HAAR;
}

/** Upstream's bit rule on the block's largest |LL|. */
function bitOf(largest: number): number {
  return largest % SCALE > HALF_SCALE ? 1 : 0;
}

/** Upstream's vote: block k counts for bit k % length; a bit is 1 when mean · 255 > 127. */
export function voteBits(blocks: Uint8Array, length: number): number[] {
  const ones = new Array<number>(length).fill(0);
  const totals = new Array<number>(length).fill(0);
  for (let k = 0; k < blocks.length; k++) {
    const i = k % length;
    totals[i] = (totals[i] ?? 0) + 1;
    ones[i] = (ones[i] ?? 0) + (blocks[k] ?? 0);
  }
  // Same float64 operations as numpy's mean then `* 255 > 127`; an empty bit (NaN) reads 0.
  return ones.map((n, i) => ((n / (totals[i] ?? 0)) * 255 > 127 ? 1 : 0));
}

export interface WatermarkReading {
  watermark: KnownWatermark;
  view: WatermarkView;
  /** Decoded bits equal to the message. */
  agreeing: number;
  bits: number;
}

export interface WatermarkMatch {
  /** The message matched within its maxDistance, if any. */
  found?: WatermarkReading;
  /** Otherwise the closest reading within a message's nearDistance, for a note. */
  near?: WatermarkReading;
}

/** Best view per known message, then the decision. No size floor here (see readInvisibleWatermark). */
export function matchKnownWatermarks(blocks: BlockBits): WatermarkMatch {
  const readings = KNOWN_WATERMARKS.map((watermark) => {
    let best: WatermarkReading | undefined;
    for (const view of watermark.views) {
      const decoded = voteBits(blocks[view], watermark.bits.length);
      const agreeing = decoded.reduce((n, bit, i) => n + (bit === watermark.bits[i] ? 1 : 0), 0);
      if (!best || agreeing > best.agreeing) best = { watermark, view, agreeing, bits: watermark.bits.length };
    }
    return best;
  }).filter((r): r is WatermarkReading => r !== undefined);
  const distance = (r: WatermarkReading): number => r.bits - r.agreeing;
  const byShare = (a: WatermarkReading, b: WatermarkReading): number => b.agreeing / b.bits - a.agreeing / a.bits;
  const found = readings.filter((r) => distance(r) <= r.watermark.maxDistance).sort(byShare)[0];
  if (found) return { found };
  const near = readings.filter((r) => distance(r) <= r.watermark.nearDistance).sort(byShare)[0];
  return near ? { near } : {};
}

export type InvisibleWatermarkResult =
  | { checked: true; match: WatermarkMatch; width: number; height: number }
  | { checked: false; note?: string };

/**
 * Decodes the file at its stored pixel grid (no EXIF rotation, ICC profile ignored: the mark sits
 * in the raw values the generator wrote) and looks for the known messages. Images under 256×256
 * (upstream refuses them) or with a width that is not a multiple of 8 are skipped silently; over
 * LIMITS.watermarkMaxPixels, or not 8-bit colour, with a note. Throws only what sharp throws for
 * unreadable input.
 */
export async function readInvisibleWatermark(bytes: Uint8Array, options: { maxBlocks?: number } = {}): Promise<InvisibleWatermarkResult> {
  const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height < WATERMARK_MIN_PIXELS) return { checked: false };
  // Generators write widths in multiples of 8, and any other width moves the bit of every block
  // after the first row (blocks per row is width // 8), so such an image cannot carry a readable mark.
  if (width % 8 !== 0) return { checked: false };
  if (width * height > LIMITS.watermarkMaxPixels) {
    return { checked: false, note: `invisible watermark not checked: ${width}×${height} is over ${LIMITS.watermarkMaxPixels / 1_048_576} MP` };
  }
  if (meta.depth && meta.depth !== 'uchar') return { checked: false, note: 'invisible watermark not checked: not 8-bit' };
  if ((meta.channels ?? 0) < 3 || meta.space === 'cmyk') return { checked: false };
  // Block k carries bit k % length and blocks run row by row, so the top rows of blocks hold
  // complete votes for every bit. Reading only those keeps a 4 MP image as cheap as a 1 MP one
  // (libvips stops decoding below the strip) while still giving each bit hundreds of votes.
  const blockCols = Math.floor(width / 8);
  const stripHeight = Math.min(height, Math.ceil((options.maxBlocks ?? WATERMARK_MAX_BLOCKS) / blockCols) * 8);
  const { data, info } = await sharp(bytes, { limitInputPixels: LIMITS.watermarkMaxPixels, ignoreIcc: true, sequentialRead: true })
    .extract({ left: 0, top: 0, width, height: stripHeight })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels < 3) return { checked: false };
  const pixels: RgbPixels = { data, width: info.width, height: info.height, channels: info.channels };
  return { checked: true, match: matchKnownWatermarks(decodeBlockBits(pixels)), width, height };
}
