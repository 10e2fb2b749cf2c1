#!/usr/bin/env python3
"""AEROBLADE — Ricker, Lukovnikov, Fischer, "AEROBLADE: Training-Free Detection of Latent
Diffusion Images Using Autoencoder Reconstruction Error", CVPR 2024.
Code: https://github.com/jonasricker/aeroblade (no licence file in the repository).

Per autoencoder (scripts/run_aeroblade.py defaults: CompVis/stable-diffusion-v1-1,
stabilityai/stable-diffusion-2-base, kandinsky-community/kandinsky-2-1; aeroblade/image.py):
  x ∈ [0,1] (PIL RGB, ToTensor, no resize) → x·2−1 → encode → latent (SD: posterior *sample*
  with torch.Generator().manual_seed(1); MoVQ: the unquantised latent) → decode (MoVQ with
  force_not_quantize=True) → (rec/2+0.5).clamp(0,1) → saved as 8-bit PNG (to_pil_image:
  mul(255).byte(), i.e. truncation) → LPIPS-VGG layer 2 (relu2_2) map → spatial mean.
AEROBLADE's score is the smallest distance over the AEs (lower = more likely generated).

Each AE becomes ONE ONNX graph: inputs `image` [1,3,H,W] in [0,1] and, for the SD autoencoders,
`noise` [1,4,H/8,W/8] (standard normal; genguard draws it with a re-implementation of torch's CPU
generator seeded with options.seed, i.e. the noise the official code uses for an image processed
on its own), output `distance` [1]. The 8-bit rounding happens inside the graph.
Deviations from the official run, all documented: fp32 instead of the fp16 the authors compute in
(weights are rounded to fp16 first, as the official fp16 checkpoints are), noise drawn in fp32,
and images trimmed to a multiple of 8 (the official code fails on other sizes).

  python3 tools/export/aeroblade.py --checkpoint \\
      sd1=sd1-vae.fp16.safetensors sd2=sd2-vae.fp16.safetensors kd21=movq.safetensors \\
      vgg16=vgg16-397923af.pth lpips=vgg.pth --write-manifest models/manifest.json
  python3 tools/export/aeroblade.py --self-test
  python3 tools/export/aeroblade.py --checkpoint … --calibrate REAL_DIR AI_DIR   (fits options.calibration)
Self-test models: the same diffusers Encoder/Decoder code with widths 8/16/16/16, one resnet per
block and 4 norm groups (SD/MoVQ: 128/256/512|256/512, 2 resnets, 32 groups); LPIPS VGG with
8/16 channels instead of 64/128."""
import sys

sys.dont_write_bytecode = True

import math  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision.transforms as T  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.transforms.functional import to_pil_image  # noqa: E402

from lib.cli import done_fixture, file_field, finish, fixture_images, parser  # noqa: E402
from lib.common import (BYO_FIXTURES, export_onnx, load_state_dict, load_strict, log, manifest_entry,  # noqa: E402
                        randomize, synthetic_image)
from lib.lpips_vgg import LpipsVggLayer2, load_lpips_weights  # noqa: E402
from lib.sd_vae import AutoencoderKL, VQModel, convert_vae_keys  # noqa: E402

LICENCE = ('no licence file in the AEROBLADE repository; autoencoders: CreativeML OpenRAIL-M (SD 1.x), '
           'CreativeML OpenRAIL++-M (SD 2.x), Apache-2.0 (Kandinsky 2.1 MoVQ); LPIPS: BSD-2-Clause; '
           'VGG16 ImageNet weights: torchvision')
SOURCE = ('https://github.com/jonasricker/aeroblade; autoencoders from https://huggingface.co/CompVis/stable-diffusion-v1-1, '
          'https://huggingface.co/stabilityai/stable-diffusion-2-base, https://huggingface.co/kandinsky-community/kandinsky-2-1; '
          'LPIPS https://github.com/richzhang/PerceptualSimilarity')
SEED = 1
# Provisional logistic on the distance (score = sigmoid((center − d) / scale)); run --calibrate on
# your own real and generated images before relying on it.
DEFAULT_CALIBRATION = {'center': 0.025, 'scale': 0.005}
TINY = dict(block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=4)

SPEC = {
    'compat': 'torchvision',
    'resize': {'mode': 'none', 'kernel': 'linear'},
    'crop': {'mode': 'none', 'count': 1, 'pad': True},
    'scale': 255, 'mean': [0, 0, 0], 'std': [1, 1, 1], 'sizeMultiple': 8,
}


class AerobladeKL(nn.Module):
    """One SD autoencoder + LPIPS layer 2 as a single graph: (image, noise) → distance."""

    def __init__(self, ae: AutoencoderKL, lpips: LpipsVggLayer2):
        super().__init__()
        self.ae, self.lpips = ae, lpips

    def forward(self, image, noise):
        mean, std = self.ae.posterior(image * 2.0 - 1.0)
        rec = self.ae.decode(mean + std * noise)
        rec = torch.floor(torch.clamp(rec / 2 + 0.5, 0.0, 1.0) * 255.0) / 255.0
        return self.lpips(image, rec).mean(dim=(1, 2, 3))


class AerobladeVQ(nn.Module):
    """Kandinsky 2.1's MoVQ (decoded without quantisation) + LPIPS layer 2: image → distance."""

    def __init__(self, ae: VQModel, lpips: LpipsVggLayer2):
        super().__init__()
        self.ae, self.lpips = ae, lpips

    def forward(self, image):
        rec = self.ae.decode(self.ae.encode(image * 2.0 - 1.0))
        rec = torch.floor(torch.clamp(rec / 2 + 0.5, 0.0, 1.0) * 255.0) / 255.0
        return self.lpips(image, rec).mean(dim=(1, 2, 3))


def vae_config_from_state_dict(sd):
    blocks = sorted({int(k.split('.')[2]) for k in sd if k.startswith('encoder.down_blocks.')})
    ch = tuple(sd[f'encoder.down_blocks.{i}.resnets.0.conv2.weight'].shape[0] for i in blocks)
    layers = len({k.split('.')[4] for k in sd if k.startswith('encoder.down_blocks.0.resnets.')})
    attn_down = tuple(any(k.startswith(f'encoder.down_blocks.{i}.attentions.') for k in sd) for i in blocks)
    attn_up = tuple(any(k.startswith(f'decoder.up_blocks.{i}.attentions.') for k in sd) for i in blocks)
    vq = 'encoder.conv_out.weight' in sd and sd['quant_conv.weight'].shape[0] == sd['post_quant_conv.weight'].shape[1] \
        and sd['encoder.conv_out.weight'].shape[0] == sd['post_quant_conv.weight'].shape[0]
    cfg = dict(block_out_channels=ch, layers_per_block=layers, attn_down=attn_down, attn_up=attn_up,
               latent_channels=sd['post_quant_conv.weight'].shape[0])
    if vq:
        cfg['vq_embed_dim'] = sd['quant_conv.weight'].shape[0]
    return vq, cfg


def load_autoencoder(path: Path, fp16=True):
    sd = load_state_dict(path)
    vq, cfg = vae_config_from_state_dict(sd)
    ae = (VQModel if vq else AutoencoderKL)(**cfg).eval()
    load_strict(ae, convert_vae_keys(sd, ae), f'autoencoder {path}', ignore_prefixes=('quantize.',))
    if fp16:
        round_fp16(ae)
    return ae, vq


def round_fp16(module):
    """The authors load the fp16 variant (or cast to fp16): round the weights the same way."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())


def graph(ae, vq, lpips):
    return (AerobladeVQ if vq else AerobladeKL)(ae, lpips).eval()


def export(g, vq, path):
    if vq:
        return export_onnx(g, (torch.rand(1, 3, 32, 32),), path, ['image'], ['distance'],
                           {'image': {2: 'h', 3: 'w'}})
    return export_onnx(g, (torch.rand(1, 3, 32, 32), torch.randn(1, 4, 4, 4)), path, ['image', 'noise'], ['distance'],
                       {'image': {2: 'h', 3: 'w'}, 'noise': {2: 'lh', 3: 'lw'}})


def official_distance(ae, vq, lpips, img: Image.Image, seed=SEED) -> float:
    """aeroblade/image.py compute_reconstructions + distances.py LPIPS, for one image on its own."""
    w, h = img.size
    img = img.crop((0, 0, w - w % 8, h - h % 8))
    x = T.ToTensor()(img).unsqueeze(0)
    with torch.no_grad():
        images = x * 2.0 - 1.0
        if vq:
            rec = ae.decode(ae.encode(images))
        else:
            mean, std = ae.posterior(images)
            generator = torch.Generator().manual_seed(seed)
            rec = ae.decode(mean + std * torch.randn(mean.shape, generator=generator, dtype=mean.dtype))
        rec = (rec / 2 + 0.5).clamp(0, 1)
        rec_png = T.ToTensor()(to_pil_image(rec[0])).unsqueeze(0)
        return float(lpips(x, rec_png).mean((2, 3))[0, 0])


def entry(model_id, files, calibration, what):
    return manifest_entry(
        id=model_id, method='aeroblade', files=files, weight=1, enabled=True, slow=True, timeoutMs=600000,
        preprocess=SPEC, postprocess={'activation': 'sigmoid', 'aggregate': 'mean_logit'},
        description=f'AEROBLADE (Ricker et al., CVPR 2024): LPIPS-VGG layer-2 distance to the reconstruction by {what}; '
                    'smallest distance over the autoencoders, mapped by a logistic (options.calibration)',
        licence=LICENCE, source=SOURCE,
        options={'seed': SEED, 'latentChannels': 4, 'latentFactor': 8, 'maxPixels': 512 * 512, 'calibration': calibration},
    )


def score(d, cal):
    return 1 / (1 + math.exp(-(cal['center'] - d) / cal['scale']))


def noise_samples():
    """torch.randn with a fresh seeded CPU generator, for the TypeScript generator's unit test."""
    out = []
    for seed, n in [(1, 16), (1, 40), (7, 100), (1, 4 * 6 * 5)]:
        t = torch.randn(n, generator=torch.Generator().manual_seed(seed))
        out.append({'seed': seed, 'n': n, 'values': [float(v) for v in t]})
    return out


def self_test(args):
    torch.manual_seed(args.seed)
    lpips = randomize(LpipsVggLayer2(8, 16), args.seed + 1)
    sd_ae = randomize(AutoencoderKL(**TINY), args.seed + 2)
    kd_ae = randomize(VQModel(**TINY), args.seed + 3)
    round_fp16(sd_ae)
    round_fp16(kd_ae)
    aes = {'sd': (sd_ae, False), 'kd': (kd_ae, True)}
    files = []
    for role, (ae, vq) in aes.items():
        sha = export(graph(ae, vq, lpips), vq, BYO_FIXTURES / f'aeroblade-{role}.onnx')
        files.append({'role': role, 'file': f'aeroblade-{role}.onnx', 'sha256': sha})
    imgs = {'a': synthetic_image(48, 40, 31), 'b': synthetic_image(50, 41, 32), 'c': synthetic_image(64, 56, 33)}
    names = fixture_images('aeroblade', imgs)
    dists = {n: {role: official_distance(ae, vq, lpips, img) for role, (ae, vq) in aes.items()} for n, img in imgs.items()}
    mins = [min(d.values()) for d in dists.values()]
    cal = {'center': sum(mins) / len(mins), 'scale': max(1e-6, max(mins) - min(mins))}
    cases = []
    for name, roles in [('sd-only', ['sd']), ('sd+movq', ['sd', 'kd'])]:
        rows = []
        for n in imgs:
            d = {r: dists[n][r] for r in roles}
            rows.append({'file': names[n], 'distances': d, 'score': score(min(d.values()), cal)})
        e = entry(f'aeroblade-{name.replace("+", "-")}', [f for f in files if f['role'] in roles], cal, 'tiny random AEs')
        cases.append({'name': name, 'entry': e, 'images': rows})
    done_fixture('aeroblade', {
        'method': 'aeroblade', 'generatedBy': 'tools/export/aeroblade.py --self-test', 'tolerance': 1e-4,
        'note': 'diffusers AutoencoderKL / VQModel(MoVQ) code at widths 8/16/16/16, 1 resnet per block, 4 norm groups; '
                'LPIPS VGG at 8/16 channels; random weights rounded to fp16; image b (50×41) checks the trim to 48×40',
        'cases': cases, 'noise': noise_samples(),
    })


def calibrate(aes, lpips, real_dir: Path, ai_dir: Path):
    """Fits score = sigmoid((center − d)/scale) by logistic regression on labelled images."""
    ds, ys = [], []
    for label, folder in [(0, real_dir), (1, ai_dir)]:
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() not in ('.png', '.jpg', '.jpeg', '.webp'):
                continue
            img = Image.open(p).convert('RGB')
            d = min(official_distance(ae, vq, lpips, img) for ae, vq in aes.values())
            log(f'{p.name}: {d:.5f}')
            ds.append(d)
            ys.append(label)
    x = torch.tensor(ds, dtype=torch.float64)
    y = torch.tensor(ys, dtype=torch.float64)
    mu, sigma = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sigma
    a, b = -1.0, 0.0  # logit = a·z + b
    for _ in range(50):
        p = torch.sigmoid(a * z + b)
        g = torch.stack([((p - y) * z).sum(), (p - y).sum()])
        wgt = p * (1 - p) + 1e-9
        hess = torch.tensor([[(wgt * z * z).sum(), (wgt * z).sum()], [(wgt * z).sum(), wgt.sum()]]) + 1e-6 * torch.eye(2, dtype=torch.float64)
        step = torch.linalg.solve(hess, g)
        a, b = a - float(step[0]), b - float(step[1])
    # a·(d − mu)/sigma + b = (center − d)/scale  ⇒  scale = −sigma/a, center = mu + b·sigma/a·(−1)
    scale = -sigma / a
    center = mu + b * scale
    return {'center': center, 'scale': scale}


def main():
    p = parser(__doc__, 'aeroblade-official')
    p.add_argument('--calibrate', nargs=2, type=Path, metavar=('REAL_DIR', 'AI_DIR'),
                   help='fit options.calibration on labelled images (slow: runs every AE in PyTorch)')
    p.add_argument('--fp32-weights', action='store_true', help='do not round AE weights to fp16')
    args = p.parse_args()
    if args.self_test:
        return self_test(args)
    if args.random_weights:
        lpips = randomize(LpipsVggLayer2(), args.seed)
        aes = {'sd1': (randomize(AutoencoderKL(), args.seed + 1), False), 'kd21': (randomize(VQModel(), args.seed + 2), True)}
    else:
        paths = {}
        for item in args.checkpoint:
            role, sep, path = str(item).partition('=')
            if not sep:
                raise SystemExit(f'expected role=path, got {item} (roles: sd1, sd2, kd21, …, vgg16, lpips)')
            paths[role] = Path(path)
        if 'vgg16' not in paths or 'lpips' not in paths:
            raise SystemExit('need vgg16=vgg16-397923af.pth and lpips=vgg.pth (LPIPS v0.1 weights)')
        lpips = LpipsVggLayer2().eval()
        load_lpips_weights(lpips, paths.pop('vgg16'), paths.pop('lpips'))
        aes = {role: load_autoencoder(path, fp16=not args.fp32_weights) for role, path in paths.items()}
        if not aes:
            raise SystemExit('no autoencoder given (sd1=…, sd2=…, kd21=…)')
    cal = DEFAULT_CALIBRATION
    if args.calibrate:
        cal = calibrate(aes, lpips, *args.calibrate)
        log(f'calibration: {cal}')
    files = []
    for role, (ae, vq) in aes.items():
        path = args.out / f'{args.id}-{role}.onnx'
        log(f'exporting {role} to {path}')
        sha = export(graph(ae, vq, lpips), vq, path)
        files.append({'role': role, 'file': file_field(path, args), 'sha256': sha})
    finish(entry(args.id, files, cal, ', '.join(aes)), args)


if __name__ == '__main__':
    main()
