import sharp from 'sharp';
import { GenguardError } from '../errors/genguard-error.js';
import type { PreprocessSpec } from './manifest.js';
import type { RawImage } from './raw-image.js';
import { preprocessTorchvision } from './methods/torchvision-preprocess.js';

export interface ModelInput {
  data: Float32Array;
  dims: [number, number, number, number];
  crops: number;
}

/**
 * Turns decoded pixels into a model's NCHW float32 batch, following the manifest's spec to the
 * letter (the semantics are documented on `preprocessSchema`; the training scripts mirror them).
 */
export async function preprocess(image: RawImage, spec: PreprocessSpec): Promise<ModelInput> {
  if (spec.compat === 'torchvision') return preprocessTorchvision(image, spec);
  let img = await resizeStep(image, spec);
  img = trimToMultiple(img, spec.sizeMultiple);
  const crop = spec.crop;
  if (crop.mode === 'none') {
    return { data: normalise(img, 0, 0, img.width, img.height, img.width, img.height, spec), dims: [1, 3, img.height, img.width], crops: 1 };
  }
  const size = required(crop.size, 'crop.size');
  if (!crop.pad && (img.width < size || img.height < size)) {
    img = await resizeRaw(img, coverSize(img, size), 'linear');
  }
  const positions = cropPositions(img.width, img.height, size, crop.mode === 'grid' ? crop.count : 1);
  const plane = size * size * 3;
  const data = new Float32Array(plane * positions.length);
  positions.forEach(([x, y], i) => {
    data.set(normalise(img, x, y, Math.min(size, img.width - x), Math.min(size, img.height - y), size, size, spec), i * plane);
  });
  return { data, dims: [positions.length, 3, size, size], crops: positions.length };
}

/**
 * Crop origins. One axis smaller than the crop → origin 0 on that axis (the rest is zero padding).
 * Grid of k×k evenly spread origins (corners included), row-major, deduplicated, first `count`.
 */
export function cropPositions(width: number, height: number, size: number, count: number): Array<[number, number]> {
  const k = Math.ceil(Math.sqrt(count));
  const axis = (extent: number): number[] => {
    if (extent <= size) return [0];
    if (k === 1) return [Math.floor((extent - size) / 2)];
    return Array.from({ length: k }, (_, i) => Math.floor((i * (extent - size)) / (k - 1)));
  };
  const xs = [...new Set(axis(width))];
  const ys = [...new Set(axis(height))];
  const out: Array<[number, number]> = [];
  for (const y of ys) for (const x of xs) if (out.length < count) out.push([x, y]);
  return out;
}

async function resizeStep(image: RawImage, spec: PreprocessSpec): Promise<RawImage> {
  const { mode, kernel } = spec.resize;
  if (mode === 'none') return image;
  const size = required(spec.resize.size, 'resize.size');
  if (mode === 'exact') return resizeRaw(image, { width: size, height: size }, kernel);
  const target = coverSize(image, size);
  if (target.width === image.width && target.height === image.height) return image;
  return resizeRaw(image, target, kernel);
}

/** The size whose shorter side is `size`, keeping the aspect ratio. */
function coverSize(image: RawImage, size: number): { width: number; height: number } {
  const scale = size / Math.min(image.width, image.height);
  return {
    width: Math.max(size, Math.round(image.width * scale)),
    height: Math.max(size, Math.round(image.height * scale)),
  };
}

async function resizeRaw(
  image: RawImage,
  target: { width: number; height: number },
  kernel: PreprocessSpec['resize']['kernel'],
): Promise<RawImage> {
  const sharpKernel = kernel === 'linear' ? 'linear' : kernel === 'cubic' ? 'cubic' : kernel === 'nearest' ? 'nearest' : 'lanczos3';
  try {
    const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(target.width, target.height, { fit: 'fill', kernel: sharpKernel })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (cause) {
    throw new GenguardError('inference_failed', 'resizing for the model failed', { cause });
  }
}

function trimToMultiple(image: RawImage, multiple: number): RawImage {
  const width = image.width - (image.width % multiple);
  const height = image.height - (image.height % multiple);
  if (width === image.width && height === image.height) return image;
  if (width === 0 || height === 0) {
    throw new GenguardError('decode_failed', `image ${image.width}×${image.height} is too small for this model`);
  }
  const data = Buffer.allocUnsafe(width * height * 3);
  for (let y = 0; y < height; y++) {
    image.data.copy(data, y * width * 3, y * image.width * 3, y * image.width * 3 + width * 3);
  }
  return { data, width, height };
}

/** CHW float32 of an out-w×out-h window at (x, y) holding a w×h region; the rest stays 0 (padding). */
function normalise(
  image: RawImage,
  x0: number,
  y0: number,
  w: number,
  h: number,
  outW: number,
  outH: number,
  spec: PreprocessSpec,
): Float32Array {
  const out = new Float32Array(3 * outW * outH);
  const plane = outW * outH;
  for (let c = 0; c < 3; c++) {
    const mul = 1 / (spec.scale * spec.std[c]!);
    const add = -spec.mean[c]! / spec.std[c]!;
    const base = c * plane;
    for (let y = 0; y < h; y++) {
      let src = ((y0 + y) * image.width + x0) * 3 + c;
      let dst = base + y * outW;
      for (let x = 0; x < w; x++, src += 3, dst++) out[dst] = image.data[src]! * mul + add;
    }
  }
  return out;
}

function required(value: number | undefined, name: string): number {
  if (value === undefined) throw new GenguardError('config_invalid', `preprocess spec needs ${name}`);
  return value;
}
