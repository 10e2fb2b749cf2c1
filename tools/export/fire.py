#!/usr/bin/env python3
"""FIRE — Chu et al., "FIRE: Robust Detection of Diffusion-Generated Images via Frequency-Guided
Reconstruction Error", CVPR 2025. Code: https://github.com/Chuchad/FIRE (README: MIT).
THE AUTHORS HAVE NOT RELEASED WEIGHTS: train FIRE yourself with their train.py (mode "fire",
norm_layer "instance") and pass the resulting checkpoint here. genguard ships the pipeline only,
outside the default ensemble.

Network (utils/network_utils.py, FIRE_model): the image x ∈ [0,1] (256×256) is Fourier-transformed
(fftn of x·255, fftshift); a learned mask network (ESPCN on 20·log|F|/255, two sigmoid heads)
gives a mid-band mask M_c; the mid-band-filtered image m = |ifft(F·M_c)| / (max − min) is
computed; both x and m go through the Stable Diffusion 1.5 autoencoder (encode → sampled latent →
decode, no rescaling to [−1,1]); |rec(x) − x| and |rec(m) − m| are stacked into 6 channels for a
ResNet-50 with InstanceNorm (conv1 6→64, fc 2048→1). Output: sigmoid(out[0]).
Preprocessing (dataset.py, eval.py): PIL RGB, Resize(256) when --resize (eval_fi.sh) — the
default here — then CenterCrop(256), ToTensor, no normalisation.
In the ONNX graph the FFTs are exact DFT matrix products in float64 (ONNX has no fftn the
exporter can use), and the posterior noise, drawn from the global RNG in the official code, is a
fixed seeded tensor (options: --seed-noise), so the same image always gets the same score.

  python3 tools/export/fire.py --checkpoint ckpt/model_0030.pt --write-manifest models/manifest.json
  python3 tools/export/fire.py --self-test
Self-test model: SD autoencoder code at widths 8/16/16/16 (1 resnet per block, 4 norm groups;
SD 1.5: 128/256/512/512, 2, 32), InstanceNorm ResNet-50 layout at width 3 instead of 64, the ESPCN
mask network at its real size."""
import sys

sys.dont_write_bytecode = True

import math  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from lib.cli import done_fixture, file_field, finish, fixture_images, parser, sigmoid  # noqa: E402
from lib.common import (BYO_FIXTURES, export_onnx, load_state_dict, load_strict, log, manifest_entry,  # noqa: E402
                        randomize, spread_head, synthetic_image, torchvision_input)
from lib.resnet import ResNet  # noqa: E402
from lib.sd_vae import AutoencoderKL, convert_vae_keys  # noqa: E402

LICENCE = ('FIRE code: MIT (per its README); weights: none published, trained by the operator; '
           'SD 1.5 autoencoder: CreativeML OpenRAIL-M')
SOURCE = 'https://github.com/Chuchad/FIRE (train.py; weights not released) + https://huggingface.co/runwayml/stable-diffusion-v1-5 (vae)'
TINY_VAE = dict(block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=4)


def spec(resize=True):
    return {
        'compat': 'torchvision',
        'resize': {'mode': 'shorter', 'size': 256, 'kernel': 'linear'} if resize else {'mode': 'none', 'kernel': 'linear'},
        'crop': {'mode': 'center', 'size': 256, 'count': 1, 'pad': True},
        'scale': 255, 'mean': [0, 0, 0], 'std': [1, 1, 1], 'sizeMultiple': 1,
    }


class ESPCN(nn.Module):
    """utils/network_utils.py ESPCN(in_channels=3, out_channels=1, channels=64, upscale_factor=1)."""

    def __init__(self, in_channels=3, out_channels=1, channels=64, upscale_factor=1):
        super().__init__()
        hidden = channels // 2
        out = int(out_channels * upscale_factor ** 2)
        self.bn = nn.BatchNorm2d(in_channels)
        self.feature_maps = nn.Sequential(nn.Conv2d(in_channels, channels, 5, 1, 2), nn.Tanh(),
                                          nn.Conv2d(channels, hidden, 3, 1, 1), nn.Tanh())
        self.sub_pixel_0 = nn.Sequential(nn.Conv2d(hidden, out, 3, 1, 1), nn.PixelShuffle(upscale_factor), nn.Sigmoid())
        self.sub_pixel_1 = nn.Sequential(nn.Conv2d(hidden, out, 3, 1, 1), nn.PixelShuffle(upscale_factor), nn.Sigmoid())

    def forward(self, x):
        x = self.feature_maps(self.bn(x))
        return self.sub_pixel_0(x), self.sub_pixel_1(x)


def dft_matrices(line: torch.Tensor):
    """A = fftshift ∘ DFT_n as (real, imag) float64: A[k, j] = exp(−2πi·k·j/n)·(−1)^j, n = len(line).
    The indices are derived from a line of the input so the exporter cannot bake the n×n
    matrices into the file (onnxruntime computes them in well under a millisecond)."""
    k = torch.cumsum(torch.ones_like(line, dtype=torch.int64), 0) - 1
    n = k.shape[0]
    ang = ((k[:, None] * k[None, :]) % n).to(torch.float64) * (-2 * math.pi / n)
    sign = (1 - 2 * (k % 2)).to(torch.float64)[None, :]
    return torch.cos(ang) * sign, torch.sin(ang) * sign


def cmatmul(ar, ai, br, bi):
    return ar @ br - ai @ bi, ar @ bi + ai @ br


class FFTFilter(nn.Module):
    """utils/network_utils.py fft_filter (FMRE). `official` is the authors' torch.fft code; the
    default forward is the same computation as float64 DFT matrix products, which ONNX can express."""

    def __init__(self, radiuslow=40, radiushigh=120, rows=256, cols=256):
        super().__init__()
        mask = torch.ones((1, rows, cols), dtype=torch.float32)
        x, y = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')
        d2 = (x - rows // 2) ** 2 + (y - cols // 2) ** 2
        mask[:, d2 < radiuslow * radiuslow] = 0
        mask[:, d2 >= radiushigh * radiushigh] = 0
        self.register_buffer('i_mask', mask)  # unused by forward, but part of the official state dict
        self.register_buffer('r_i_mask', 1 - mask)
        self.mask_autoencoder = ESPCN(in_channels=3, out_channels=1, channels=64, upscale_factor=1)

    def official(self, image):
        freq_image = torch.fft.fftshift(torch.fft.fftn(image * 255, dim=(-2, -1)), dim=(-2, -1))
        _, mask_mid_filterd = self.mask_autoencoder((20 * torch.log(torch.abs(freq_image) + 1e-7)) / 255)
        middle_filtered = freq_image * mask_mid_filterd.to(freq_image.dtype)
        z = torch.abs(torch.fft.ifftn(torch.fft.ifftshift(middle_filtered, dim=(-2, -1)), dim=(-2, -1)))
        return z / (torch.max(z) - torch.min(z))

    def forward(self, image):
        h, w = image.shape[-2], image.shape[-1]
        hr, hi = dft_matrices(image[0, 0, :, 0])
        wr, wi = dft_matrices(image[0, 0, 0, :])
        x = image.to(torch.float64) * 255
        tr, ti = hr @ x, hi @ x
        fr, fi = cmatmul(tr, ti, wr.T, wi.T)
        mag = torch.sqrt(fr * fr + fi * fi)
        _, mask = self.mask_autoencoder(((20 * torch.log(mag + 1e-7)) / 255).to(torch.float32))
        m = mask.to(torch.float64)
        yr, yi = fr * m, fi * m
        # inverse with ifftshift: B = conj(A)ᵀ / n
        ur, ui = cmatmul(hr.T / h, -hi.T / h, yr, yi)
        zr, zi = cmatmul(ur, ui, wr / w, -wi / w)
        z = torch.sqrt(zr * zr + zi * zi).to(torch.float32)
        return z / (torch.max(z) - torch.min(z))


class FireNet(nn.Module):
    """FIRE_model with its module names (vae, resnet, fft_filter_module), so the authors'
    checkpoint loads as it is; the posterior noise is a fixed input-independent tensor."""

    def __init__(self, vae_cfg=None, width=64, noise_seed=1, size=256):
        super().__init__()
        self.vae = AutoencoderKL(**(vae_cfg or {}))
        self.resnet = ResNet(width=width, in_channels=6, norm=nn.InstanceNorm2d)
        self.fft_filter_module = FFTFilter(rows=size, cols=size)
        g = torch.Generator().manual_seed(noise_seed)
        lat = (1, 4, size // 8, size // 8)
        self.register_buffer('noise_x', torch.randn(lat, generator=g), persistent=False)
        self.register_buffer('noise_m', torch.randn(lat, generator=g), persistent=False)
        self.use_official_fft = False

    def reconstruct(self, x, noise):
        mean, std = self.vae.posterior(x)
        return self.vae.decode(mean + std * noise)

    def forward(self, x):
        f = self.fft_filter_module
        middle_filtered = f.official(x) if self.use_official_fft else f(x)
        raw_delta = torch.abs(self.reconstruct(x, self.noise_x) - x)
        filtered_delta = torch.abs(self.reconstruct(middle_filtered, self.noise_m) - middle_filtered)
        return self.resnet(torch.cat([raw_delta, filtered_delta], dim=1))


def entry(model_id, file, sha, resize, what):
    return manifest_entry(
        id=model_id, method='classifier', file=file, sha256=sha, weight=1, enabled=False, slow=True, timeoutMs=300000,
        preprocess=spec(resize), postprocess={'activation': 'sigmoid', 'aggregate': 'mean_logit'},
        description=f'FIRE (Chu et al., CVPR 2025), {what}; not in the default ensemble (no published weights)',
        licence=LICENCE, source=SOURCE,
    )


def load_official(net, path):
    """eval.py: FIRE_model().load_state_dict(torch.load(ckpt)) — vae.*, resnet.*, fft_filter_module.*."""
    sd = load_state_dict(path)
    vae = convert_vae_keys({k[4:]: v for k, v in sd.items() if k.startswith('vae.')}, net.vae)
    sd = {**{k: v for k, v in sd.items() if not k.startswith('vae.')}, **{f'vae.{k}': v for k, v in vae.items()}}
    load_strict(net, sd, f'FIRE {path}')
    return net.eval()


def export(net, path):
    return export_onnx(net, torch.rand(1, 3, 256, 256), path, ['image'], ['logit'], None)


def self_test(args):
    torch.manual_seed(args.seed)
    net = FireNet(TINY_VAE, width=3)
    randomize(net, args.seed)
    with torch.no_grad():
        for p in net.vae.parameters():
            p.copy_(p.half().float())
    imgs = {'a': synthetic_image(300, 260, 41), 'b': synthetic_image(200, 180, 42), 'c': synthetic_image(256, 256, 43)}
    files = fixture_images('fire', imgs)
    with torch.no_grad():
        net.use_official_fft = True
        # Shift the head and scale it down: scaling it up would also scale the float32 noise of this chaotic tiny
        # random network (InstanceNorm over near-constant reconstruction errors) past the tolerance.
        spread_head(net.resnet.fc, torch.cat([net(torchvision_input(i, spec())) for i in imgs.values()]), max_scale=0.5)
        net.use_official_fft = False
    sha = export(net, BYO_FIXTURES / 'fire.onnx')
    rows = []
    net.use_official_fft = True
    for n, img in imgs.items():
        with torch.no_grad():
            logit = float(net(torchvision_input(img, spec()))[0, 0])
        rows.append({'file': files[n], 'logit': logit, 'score': sigmoid(logit)})
    done_fixture('fire', {
        'method': 'fire', 'generatedBy': 'tools/export/fire.py --self-test', 'tolerance': 1e-4,
        'note': 'FIRE_model structure: ESPCN mask net (real size), SD autoencoder code at widths 8/16/16/16 with 1 resnet '
                'per block and 4 norm groups, InstanceNorm ResNet-50 layout at width 3; random weights, head scaled down (≤ 0.5). Expected values use '
                "the authors' torch.fft code; the ONNX graph uses float64 DFT matrices",
        'cases': [{'name': 'resize256-crop256', 'entry': entry('fire-test', 'fire.onnx', sha, True, 'tiny random weights'),
                   'images': rows}],
    })


def main():
    p = parser(__doc__, 'fire')
    p.add_argument('--no-resize', action='store_true', help='center crop 256 only (the DiffusionForensics setting)')
    p.add_argument('--seed-noise', type=int, default=1, help='seed of the fixed posterior noise (default 1)')
    args = p.parse_args()
    if args.self_test:
        return self_test(args)
    net = FireNet(noise_seed=args.seed_noise)
    if args.random_weights:
        randomize(net, args.seed)
        what = 'random weights'
    else:
        load_official(net, args.checkpoint[0])
        what = f'operator-trained {args.checkpoint[0].name}'
    net.eval()
    path = args.out / f'{args.id}.onnx'
    log(f'exporting to {path}')
    sha = export(net, path)
    finish(entry(args.id, file_field(path, args), sha, not args.no_resize, what), args)


if __name__ == '__main__':
    main()
