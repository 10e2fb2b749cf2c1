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
 * Upstream's own decoding misses about one mark in four (simulated, KNOWN_WATERMARKS): where
 * chroma is flat, lowering the largest entry for a 0 bit makes another entry of the block the
 * largest, and that one reads 1 as often as not. So a second rule reads the same blocks ("banded",
 * see BLOCK_READS_0): it counts only residues a written bit can leave and lets the other blocks
 * abstain. Either rule may find a mark, each within its own threshold.
 *
 * The mark lives on the generator's pixel grid: resizing, cropping at the top or left, screenshots
 * and most re-encoding remove it (a quality-95 JPEG of a fixture still decoded). Images that are
 * flat colour almost everywhere, or small, still fail to decode; a miss says nothing. Anyone can
 * embed these public messages into any image, like any metadata.
 */

export type WatermarkView = 'u8-bgr' | 'u8-rgb' | 'f32-bgr' | 'f32-rgb';
export const WATERMARK_VIEWS: readonly WatermarkView[] = ['u8-bgr', 'u8-rgb', 'f32-bgr', 'f32-rgb'];

export interface KnownWatermark {
  id: 'sdxl' | 'flux' | 'sd1' | 'sd2';
  label: string;
  bits: readonly number[];
  /** Most differing bits still counted as the mark, by upstream's majority vote. */
  maxDistance: number;
  /** The same for the banded rule, which decodes marked images nearly error-free, so it can be stricter. */
  bandedMaxDistance: number;
  /** Up to this many differing bits (majority vote) is reported as a note only, never as evidence. */
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
 * The messages in use. Chance of an unmarked image matching, if its decoded bits were independent
 * coins, per view tried. Majority vote, fair coins (sum over d ≤ maxDistance of C(n, d) / 2^n).
 * Banded rule: it reads unmarked blocks as 0 more often than as 1 (its 0 band is wider), so the
 * worst case over any P(bit = 1) shared by all bits is given, next to the fair-coin figure.
 * - SDXL, 48 bits: majority ≤ 4 differing: 213,053 / 2^48 ≈ 7.6e-10; banded ≤ 2: 1,177 / 2^48 ≈
 *   4.2e-12, at worst 6.1e-12 (P(1) = 0.57). Both, × 4 views: ≈ 3.1e-9.
 * - FLUX.1, 46 bits: majority ≤ 4: 179,447 / 2^46 ≈ 2.6e-9; banded ≤ 2: ≈ 1.5e-11, at worst
 *   4.6e-11. Both, × 2 views: ≈ 5.2e-9.
 * - "SDV2", 32 bits: majority ≤ 1: 33 / 2^32 ≈ 7.7e-9; banded 0: 2.3e-10, at worst 4.1e-10. Both:
 *   ≈ 8.1e-9.
 * - "StableDiffusionV1", 136 bits: majority ≤ 34 (25 %): ≈ 2.2e-9; banded ≤ 17: ≈ 2.5e-20. A
 *   136-bit message gets a third of the votes per bit a 48-bit one gets, so upstream's vote decodes
 *   it with more bit errors; the share allowed is set for a chance rate like the others'.
 * The banded thresholds are tighter, adding a few percent to upstream's chance rate only, because
 * marked images decode through it all but perfectly: of 1,440 simulated generations
 * (tools/watermark-recall.py, 60 photos × 4 sizes × 6 pipelines) 1,403 read with 0 differing bits,
 * 8 with 1 to 3, the rest with 9 or more. On other photos than those the bands were tuned on
 * (--seed 3), recall went from 74 to 99 % (SDXL), 76 to 98 % (FLUX), 72 to 98 %
 * ("StableDiffusionV1") and 55 to 97 % ("SDV2"). The hosts are photos of 192-256 pixels scaled up,
 * smoother than real generations, so real recall should be higher for both rules.
 * Real photos decode to structured, not random, bits (mostly 1s from flat areas in upstream's vote);
 * Stability's own detector saw no real image above 35/48 in 10,000 (scripts/demo/detect.py in
 * generative-models). The 2,499 images of ../shared/datasets (all but CIFAKE, decoded at their
 * stored size) reach at most, in any view, by majority 37/48 (SDXL), 35/46 (FLUX), 84/136
 * ("StableDiffusionV1") and 24/32 ("SDV2"), and by the banded rule 32/48, 31/46, 73/136 and 22/32:
 * 10 to 46 bits short of its thresholds, where the majority vote comes within 7.
 */
export const KNOWN_WATERMARKS: readonly KnownWatermark[] = [
  {
    id: 'sdxl',
    label: 'Stable Diffusion XL (diffusers / Stability)',
    // diffusers pipelines/stable_diffusion_xl/watermark.py and generative-models: WATERMARK_MESSAGE.
    bits: bitsOf('101100111110110010010000011110111011000110011110'),
    maxDistance: 4,
    bandedMaxDistance: 2,
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
    bandedMaxDistance: 2,
    nearDistance: 8,
    views: ['f32-bgr', 'u8-bgr'],
  },
  {
    id: 'sd1',
    label: 'Stable Diffusion 1.x reference scripts ("StableDiffusionV1")',
    bits: bitsOfText('StableDiffusionV1'),
    maxDistance: 34,
    bandedMaxDistance: 17,
    nearDistance: 44,
    views: ['u8-bgr'],
  },
  {
    id: 'sd2',
    label: 'Stable Diffusion 2.x reference scripts ("SDV2")',
    bits: bitsOfText('SDV2'),
    maxDistance: 1,
    bandedMaxDistance: 0,
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

/**
 * Per-block readings for every view, in upstream block order: each value is BLOCK_BIT (upstream's
 * bit), plus BLOCK_READS_0 or BLOCK_READS_1 where the block votes in the banded rule.
 */
export type BlockBits = Record<WatermarkView, Uint8Array>;

/** Upstream's bit: the block's largest |LL| has |v| % 36 > 18. */
export const BLOCK_BIT = 1;
/**
 * Banded rule. The embedder writes residue |v| % 36 = 9 for a 0 and 27 for a 1; once stored as
 * 8-bit pixels these read about 7…9 and 25…27. Where the written entry no longer is the block's
 * largest, the decoder reads another entry of the same 36-wide bin instead: after a lowered 0 its
 * residue can be anything in (9, 36), after a lowered 1 anything in (27, 36). So residues from 6 up
 * to 24.5 come from a 0 (upstream reads those above 18 as 1: its error in flat chroma), 24.5 up to
 * 29 from a 1, 29…36 from either (no vote), and 0…6 from neither: white or black areas clipped the
 * written value away (no vote). The edges were tuned on photos of ../shared/datasets/train/real
 * (tools/watermark-recall.py).
 */
export const BLOCK_READS_0 = 2;
export const BLOCK_READS_1 = 4;

const SCALE = 36;
const HALF_SCALE = SCALE / 2;
const BAND_0_FROM = 6;
const BAND_1_FROM = 24.5;
const BAND_1_TO = 29;

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
 * Reads every 4×4 LL block of U (upstream's bit and the banded vote, see BlockBits), for all four
 * views in one pass over the pixels. Works on any size; pixels outside whole blocks are ignored, as
 * upstream ignores them.
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
      u8Bgr[k] = codeOf(maxU8Bgr);
      u8Rgb[k] = codeOf(maxU8Rgb);
      f32Bgr[k] = codeOf(maxF32Bgr);
      f32Rgb[k] = codeOf(maxF32Rgb);
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

/** Upstream's bit and the banded vote, from the block's largest |LL|. */
function codeOf(largest: number): number {
  const residue = largest % SCALE;
  const bit = residue > HALF_SCALE ? BLOCK_BIT : 0;
  if (residue < BAND_0_FROM || residue >= BAND_1_TO) return bit;
  return bit | (residue < BAND_1_FROM ? BLOCK_READS_0 : BLOCK_READS_1);
}

/** Upstream's vote: block k counts for bit k % length; a bit is 1 when mean · 255 > 127. */
export function voteBits(blocks: Uint8Array, length: number): number[] {
  const ones = new Array<number>(length).fill(0);
  const totals = new Array<number>(length).fill(0);
  for (let k = 0; k < blocks.length; k++) {
    const i = k % length;
    totals[i] = (totals[i] ?? 0) + 1;
    ones[i] = (ones[i] ?? 0) + ((blocks[k] ?? 0) & BLOCK_BIT);
  }
  // Same float64 operations as numpy's mean then `* 255 > 127`; an empty bit (NaN) reads 0.
  return ones.map((n, i) => ((n / (totals[i] ?? 0)) * 255 > 127 ? 1 : 0));
}

/**
 * The banded rule's vote: block k counts for bit k % length when it votes at all; a bit is the
 * majority of its votes, or null (never agreeing) when it has none or they tie.
 */
export function voteBandedBits(blocks: Uint8Array, length: number): (number | null)[] {
  const zeros = new Int32Array(length);
  const ones = new Int32Array(length);
  for (let k = 0, i = 0; k < blocks.length; k++, i = i + 1 === length ? 0 : i + 1) {
    const code = blocks[k]!;
    if (code & BLOCK_READS_0) zeros[i]!++;
    else if (code & BLOCK_READS_1) ones[i]!++;
  }
  return Array.from(ones, (n, i) => (n > zeros[i]! ? 1 : n < zeros[i]! ? 0 : null));
}

/** How a reading was decoded: upstream's majority over all blocks, or the banded rule. */
export type WatermarkRule = 'majority' | 'banded';

export interface WatermarkReading {
  watermark: KnownWatermark;
  view: WatermarkView;
  rule: WatermarkRule;
  /** Decoded bits equal to the message. */
  agreeing: number;
  bits: number;
}

export interface WatermarkMatch {
  /** The message matched within its maxDistance (or bandedMaxDistance), if any. */
  found?: WatermarkReading;
  /** Otherwise the closest majority-vote reading within a message's nearDistance, for a note. */
  near?: WatermarkReading;
}

/** Every known message read in each of its views by both rules. */
export function knownWatermarkReadings(blocks: BlockBits): WatermarkReading[] {
  const readings: WatermarkReading[] = [];
  for (const watermark of KNOWN_WATERMARKS) {
    const bits = watermark.bits.length;
    const agreeing = (decoded: readonly (number | null)[]): number => decoded.reduce<number>((n, bit, i) => n + (bit === watermark.bits[i] ? 1 : 0), 0);
    for (const view of watermark.views) {
      readings.push({ watermark, view, rule: 'majority', agreeing: agreeing(voteBits(blocks[view], bits)), bits });
      readings.push({ watermark, view, rule: 'banded', agreeing: agreeing(voteBandedBits(blocks[view], bits)), bits });
    }
  }
  return readings;
}

/** The decision over knownWatermarkReadings. No size floor here (see readInvisibleWatermark). */
export function matchKnownWatermarks(blocks: BlockBits): WatermarkMatch {
  const readings = knownWatermarkReadings(blocks);
  const distance = (r: WatermarkReading): number => r.bits - r.agreeing;
  const allowed = (r: WatermarkReading): number => (r.rule === 'banded' ? r.watermark.bandedMaxDistance : r.watermark.maxDistance);
  // Ties go to the earlier reading: message order, then view order, majority before banded.
  const best = (candidates: WatermarkReading[]): WatermarkReading | undefined =>
    candidates.reduce<WatermarkReading | undefined>((a, r) => (!a || r.agreeing / r.bits > a.agreeing / a.bits ? r : a), undefined);
  const found = best(readings.filter((r) => distance(r) <= allowed(r)));
  if (found) return { found };
  // Notes stay on upstream's rule: "N bits needed" there means maxDistance.
  const near = best(readings.filter((r) => r.rule === 'majority' && distance(r) <= r.watermark.nearDistance));
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
