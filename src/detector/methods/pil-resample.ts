import type { RawImage } from '../raw-image.js';

export type PilKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/**
 * Pillow's `Image.resize` for 8-bit RGB (libImaging/Resample.c and the nearest-neighbour affine
 * path of Geometry.c), reproduced to the bit: the research models were trained and evaluated on
 * images resized by Pillow, whose fixed-point two-pass convolution differs from libvips/sharp by
 * ±1 in many pixels — enough to move a detector's logit. `linear`/`cubic`/`lanczos3` are
 * BILINEAR/BICUBIC/LANCZOS (filter support scaled by the reduction factor, i.e. antialiased).
 */
export function pilResize(image: RawImage, width: number, height: number, kernel: PilKernel): RawImage {
  if (width === image.width && height === image.height) {
    return { data: Buffer.from(image.data), width, height };
  }
  if (kernel === 'nearest') return nearest(image, width, height);
  const filter = FILTERS[kernel];
  const horiz = coefficients(image.width, width, filter);
  const vert = coefficients(image.height, height, filter);
  let src = image;
  let rowOffset = 0;
  if (width !== image.width) {
    // Like Pillow, the horizontal pass only covers the source rows the vertical pass will read.
    const first = vert.bounds[0]!;
    const last = vert.bounds[(height - 1) * 2]! + vert.bounds[(height - 1) * 2 + 1]!;
    src = horizontalPass(image, first, last - first, width, horiz);
    rowOffset = first;
  }
  if (height !== image.height) src = verticalPass(src, rowOffset, height, vert);
  return src;
}

interface Filter {
  support: number;
  fn: (x: number) => number;
}

const FILTERS: Record<Exclude<PilKernel, 'nearest'>, Filter> = {
  linear: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  cubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos3: {
    support: 3,
    fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

interface Coefficients {
  /** Per output pixel: first source index and number of taps. */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel. */
  weights: Int32Array;
  ksize: number;
}

/** precompute_coeffs + normalize_coeffs_8bpc of Resample.c. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function horizontalPass(image: RawImage, firstRow: number, rows: number, width: number, c: Coefficients): RawImage {
  const out = Buffer.alloc(width * rows * 3);
  const inStride = image.width * 3;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + firstRow) * inStride;
    for (let xx = 0; xx < width; xx++) {
      const xmin = c.bounds[xx * 2]!;
      const n = c.bounds[xx * 2 + 1]!;
      const kBase = xx * c.ksize;
      let s0 = ONE / 2;
      let s1 = ONE / 2;
      let s2 = ONE / 2;
      for (let x = 0; x < n; x++) {
        const w = c.weights[kBase + x]!;
        const p = rowBase + (x + xmin) * 3;
        s0 += image.data[p]! * w;
        s1 += image.data[p + 1]! * w;
        s2 += image.data[p + 2]! * w;
      }
      const o = (y * width + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { data: out, width, height: rows };
}

function verticalPass(image: RawImage, rowOffset: number, height: number, c: Coefficients): RawImage {
  const width = image.width;
  const out = Buffer.alloc(width * height * 3);
  const stride = width * 3;
  for (let yy = 0; yy < height; yy++) {
    const ymin = c.bounds[yy * 2]! - rowOffset;
    const n = c.bounds[yy * 2 + 1]!;
    const kBase = yy * c.ksize;
    for (let xx = 0; xx < width; xx++) {
      let s0 = ONE / 2;
      let s1 = ONE / 2;
      let s2 = ONE / 2;
      for (let y = 0; y < n; y++) {
        const w = c.weights[kBase + y]!;
        const p = (y + ymin) * stride + xx * 3;
        s0 += image.data[p]! * w;
        s1 += image.data[p + 1]! * w;
        s2 += image.data[p + 2]! * w;
      }
      const o = (yy * width + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { data: out, width, height };
}

/** ImagingScaleAffine: source coordinates accumulated in double, as Pillow does. */
function nearest(image: RawImage, width: number, height: number): RawImage {
  const out = Buffer.alloc(width * height * 3);
  const ax = image.width / width;
  const ay = image.height / height;
  const coord = (v: number) => (v < 0 ? -1 : Math.trunc(v));
  const xin = new Int32Array(width).fill(-1);
  let xo = ax * 0.5;
  for (let x = 0; x < width; x++, xo += ax) {
    const xi = coord(xo);
    if (xi >= 0 && xi < image.width) xin[x] = xi;
  }
  let yo = ay * 0.5;
  for (let y = 0; y < height; y++, yo += ay) {
    const yi = coord(yo);
    if (yi < 0 || yi >= image.height) continue;
    for (let x = 0; x < width; x++) {
      const xi = xin[x]!;
      if (xi < 0) continue;
      image.data.copy(out, (y * width + x) * 3, (yi * image.width + xi) * 3, (yi * image.width + xi) * 3 + 3);
    }
  }
  return { data: out, width, height };
}
