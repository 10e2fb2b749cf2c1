import { GenguardError } from '../../errors/genguard-error.js';
import type { PreprocessSpec } from '../manifest.js';
import type { ModelInput } from '../preprocess.js';
import type { RawImage } from '../raw-image.js';
import { pilResize } from './pil-resample.js';

/**
 * `compat: "torchvision"` (documented on preprocessSchema): what the research code does with
 * `transforms.Compose([Resize?, CenterCrop?, ToTensor(), Normalize(mean, std)])` on a PIL image,
 * reproduced to the bit so that an official checkpoint sees the very tensor it saw in the paper.
 */
export function preprocessTorchvision(image: RawImage, spec: PreprocessSpec): ModelInput {
  let img = image;
  const { mode, kernel } = spec.resize;
  if (mode !== 'none') {
    const size = required(spec.resize.size, 'resize.size');
    const target = mode === 'exact' ? { width: size, height: size } : shorterSide(img.width, img.height, size);
    img = pilResize(img, target.width, target.height, kernel);
  }
  img = trim(img, spec.sizeMultiple);
  if (spec.crop.mode === 'center') {
    img = centerCrop(img, required(spec.crop.size, 'crop.size'));
  } else if (spec.crop.mode !== 'none') {
    throw new GenguardError('config_invalid', `preprocess compat "torchvision" has no "${spec.crop.mode}" crop`);
  }
  return { data: toTensor(img, spec), dims: [1, 3, img.height, img.width], crops: 1 };
}

/** torchvision's `_compute_resized_output_size` for an int size: the long side is truncated. */
export function shorterSide(width: number, height: number, size: number): { width: number; height: number } {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/**
 * `F.center_crop`: pads with black pixels (left/top get the smaller half) when the image is
 * smaller than the crop, then crops at `int(round((extent − size) / 2))` — Python rounds half to even.
 */
export function centerCrop(image: RawImage, size: number): RawImage {
  let img = image;
  if (size > img.width || size > img.height) {
    const padX = Math.max(0, size - img.width);
    const padY = Math.max(0, size - img.height);
    img = pad(img, Math.floor(padX / 2), Math.floor(padY / 2), Math.floor((padX + 1) / 2), Math.floor((padY + 1) / 2));
    if (img.width === size && img.height === size) return img;
  }
  return crop(img, roundHalfEven((img.width - size) / 2), roundHalfEven((img.height - size) / 2), size, size);
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function pad(image: RawImage, left: number, top: number, right: number, bottom: number): RawImage {
  const width = image.width + left + right;
  const height = image.height + top + bottom;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < image.height; y++) {
    image.data.copy(data, ((y + top) * width + left) * 3, y * image.width * 3, (y + 1) * image.width * 3);
  }
  return { data, width, height };
}

function crop(image: RawImage, left: number, top: number, width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((y + top) * image.width + left) * 3;
    image.data.copy(data, y * width * 3, src, src + width * 3);
  }
  return { data, width, height };
}

function trim(image: RawImage, multiple: number): RawImage {
  const width = image.width - (image.width % multiple);
  const height = image.height - (image.height % multiple);
  if (width === image.width && height === image.height) return image;
  if (width === 0 || height === 0) {
    throw new GenguardError('decode_failed', `image ${image.width}×${image.height} is too small for this model`);
  }
  return crop(image, 0, 0, width, height);
}

/** ToTensor then Normalize, in float32 like torch: fround after every operation. */
function toTensor(image: RawImage, spec: PreprocessSpec): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = f(spec.mean[c]!);
    const std = f(spec.std[c]!);
    const scale = f(spec.scale);
    for (let i = 0; i < plane; i++) {
      out[c * plane + i] = f(f(f(image.data[i * 3 + c]! / scale) - mean) / std);
    }
  }
  return out;
}

function required(value: number | undefined, name: string): number {
  if (value === undefined) throw new GenguardError('config_invalid', `preprocess spec needs ${name}`);
  return value;
}
