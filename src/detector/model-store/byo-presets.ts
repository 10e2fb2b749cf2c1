/**
 * Manifest entries for the published detectors, less their files: what `genguard models add
 * <file-or-url> --id <preset>` fills in, so an operator who downloads a file exported by
 * tools/export/<method>.py needs no JSON editing. The exporters print the same entries (with
 * checksums); test/byo/models-command.test.ts keeps the two in step.
 */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const CLIP = { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };
const SIGMOID = { activation: 'sigmoid', aggregate: 'mean_logit' };
const NO_CROP = { mode: 'none', count: 1, pad: true };
const NO_RESIZE = { mode: 'none', kernel: 'linear' };

export interface Preset {
  entry: Record<string, unknown>;
  /** Roles `--role` may name, for methods that need several files. */
  roles?: string[];
}

export const BYO_PRESETS: Record<string, Preset> = {
  'cnnspot-official': {
    entry: {
      method: 'classifier',
      weight: 1,
      enabled: true,
      slow: false,
      preprocess: { compat: 'torchvision', resize: NO_RESIZE, crop: NO_CROP, scale: 255, ...IMAGENET, sizeMultiple: 1 },
      postprocess: SIGMOID,
      description: 'CNNSpot (Wang et al., CVPR 2020), ResNet-50, full image (no crop, as the authors recommend)',
      licence: 'CC BY-NC-SA 4.0 (non-commercial use only): weights of PeterWang512/CNNDetection',
      source: 'https://github.com/PeterWang512/CNNDetection (weights/download_weights.sh)',
    },
  },
  'univfd-official': {
    entry: {
      method: 'classifier',
      weight: 1,
      enabled: true,
      slow: false,
      timeoutMs: 30000,
      preprocess: {
        compat: 'torchvision',
        resize: NO_RESIZE,
        crop: { mode: 'center', size: 224, count: 1, pad: true },
        scale: 255,
        ...CLIP,
        sizeMultiple: 1,
      },
      postprocess: SIGMOID,
      description: 'UnivFD (Ojha et al., CVPR 2023): CLIP ViT-L/14 + fc_weights.pth; center crop 224 without resizing',
      licence: 'MIT (UnivFD fc_weights.pth, WisconsinAIVision/UniversalFakeDetect) + MIT (OpenAI CLIP ViT-L/14)',
      source: 'https://github.com/WisconsinAIVision/UniversalFakeDetect + OpenAI CLIP ViT-L-14.pt',
    },
  },
  'npr-official': {
    entry: {
      method: 'classifier',
      weight: 1,
      enabled: true,
      slow: false,
      preprocess: {
        compat: 'torchvision',
        resize: { mode: 'exact', size: 256, kernel: 'linear' },
        crop: NO_CROP,
        scale: 255,
        ...IMAGENET,
        sizeMultiple: 2,
      },
      postprocess: SIGMOID,
      description: 'NPR (Tan et al., CVPR 2024), NPR.pth; resized to 256×256, bilinear (main benchmarks)',
      licence: 'no licence file in the NPR repository (all rights reserved by the authors unless they say otherwise)',
      source: 'https://github.com/chuangchuangtan/NPR-DeepfakeDetection (NPR.pth)',
    },
  },
  'aeroblade-official': {
    roles: ['sd1', 'sd2', 'kd21'],
    entry: {
      method: 'aeroblade',
      weight: 1,
      enabled: true,
      slow: true,
      timeoutMs: 600000,
      preprocess: { compat: 'torchvision', resize: NO_RESIZE, crop: NO_CROP, scale: 255, mean: [0, 0, 0], std: [1, 1, 1], sizeMultiple: 8 },
      postprocess: SIGMOID,
      description:
        'AEROBLADE (Ricker et al., CVPR 2024): LPIPS-VGG layer-2 distance to the autoencoder reconstruction, smallest over the autoencoders',
      licence:
        'no licence file in the AEROBLADE repository; autoencoders: CreativeML OpenRAIL-M (SD 1.x), CreativeML OpenRAIL++-M (SD 2.x), Apache-2.0 (Kandinsky 2.1 MoVQ); LPIPS: BSD-2-Clause',
      source: 'https://github.com/jonasricker/aeroblade',
      options: { seed: 1, latentChannels: 4, latentFactor: 8, maxPixels: 262144, calibration: { center: 0.025, scale: 0.005 } },
    },
  },
  fire: {
    entry: {
      method: 'classifier',
      weight: 1,
      enabled: false,
      slow: true,
      timeoutMs: 300000,
      preprocess: {
        compat: 'torchvision',
        resize: { mode: 'shorter', size: 256, kernel: 'linear' },
        crop: { mode: 'center', size: 256, count: 1, pad: true },
        scale: 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        sizeMultiple: 1,
      },
      postprocess: SIGMOID,
      description: 'FIRE (Chu et al., CVPR 2025), operator-trained weights; not in the default ensemble (no published weights)',
      licence: 'FIRE code: MIT (per its README); weights: trained by the operator; SD 1.5 autoencoder: CreativeML OpenRAIL-M',
      source: 'https://github.com/Chuchad/FIRE (train.py; weights not released)',
    },
  },
};
