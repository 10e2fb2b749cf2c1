#!/usr/bin/env python3
"""Checks that every exporter's official-checkpoint loader accepts files laid out like the real
ones, without needing them: it writes full-size checkpoints with random weights in the official
formats (CNNDetection's {'model': torchvision resnet50}, NPR.pth with and without DataParallel's
`module.` prefix, a CLIP state dict + fc_weights.pth, diffusers autoencoders as .safetensors in
both attention namings, LPIPS' vgg.pth + torchvision's vgg16, a FIRE_model state dict) to a
temporary folder and loads each one. Slow-ish (builds ViT-L/14 and two autoencoders):
  python3 tools/export/check_loaders.py"""
import sys

sys.dont_write_bytecode = True

import json  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402

import aeroblade  # noqa: E402
import cnnspot  # noqa: E402
import fire  # noqa: E402
import npr  # noqa: E402
import univfd  # noqa: E402
from lib.common import log  # noqa: E402
from lib.lpips_vgg import LpipsVggLayer2, load_lpips_weights  # noqa: E402
from lib.resnet import NPRNet  # noqa: E402
from lib.sd_vae import AutoencoderKL, VQModel  # noqa: E402

_DT = {torch.float32: 'F32', torch.float16: 'F16'}


def write_safetensors(sd, path):
    header, blobs, offset = {}, [], 0
    for name, t in sd.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {'dtype': _DT[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def old_attention_names(sd):
    """diffusers < 0.14 names: query/key/value/proj_attn (as some hub files still carry)."""
    out = {}
    for k, v in sd.items():
        for new, old in {'to_q.': 'query.', 'to_k.': 'key.', 'to_v.': 'value.', 'to_out.0.': 'proj_attn.'}.items():
            if '.attentions.' in k and f'.{new}' in k:
                k = k.replace(f'.{new}', f'.{old}')
        out[k] = v
    return out


def ok(what):
    log(f'ok  {what}')


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        tv = torchvision.models.resnet50(num_classes=1)
        torch.save({'model': tv.state_dict(), 'epoch': 3}, d / 'blur_jpg_prob0.1.pth')
        net = cnnspot.load_official(d / 'blur_jpg_prob0.1.pth')
        assert torch.equal(net.fc.weight, tv.fc.weight)
        ok('CNNSpot {"model": torchvision resnet50(num_classes=1)}')

        sd = NPRNet().state_dict()
        torch.save(sd, d / 'NPR.pth')
        npr.load_official(d / 'NPR.pth')
        torch.save({'model': {f'module.{k}': v for k, v in sd.items()}}, d / 'NPR-dp.pth')
        npr.load_official(d / 'NPR-dp.pth')
        ok('NPR.pth, plain and {"model": module.*}')

        vit = univfd.UnivFD(**univfd.FULL)
        clip_sd = {f'visual.{k}': v.half() for k, v in vit.visual.state_dict().items()}
        clip_sd.update({'text_projection': torch.zeros(768, 768).half(), 'logit_scale': torch.zeros(()),
                        'token_embedding.weight': torch.zeros(49408, 8).half()})
        torch.save(clip_sd, d / 'ViT-L-14.pt')
        torch.save(nn.Linear(768, 1).state_dict(), d / 'fc_weights.pth')
        net = univfd.load_official([d / 'ViT-L-14.pt', d / 'fc_weights.pth'])
        assert net.visual.conv1.weight.dtype == torch.float32
        del vit, clip_sd, net
        ok('UnivFD: CLIP ViT-L/14 state dict (fp16) + fc_weights.pth')

        for name, cls in [('sd-vae', AutoencoderKL), ('movq', VQModel)]:
            ae = cls()
            sd = {k: v.half() for k, v in ae.state_dict().items()}
            if cls is VQModel:
                sd['quantize.embedding.weight'] = torch.zeros(16384, 4).half()
            write_safetensors(sd, d / f'{name}.safetensors')
            loaded, vq = aeroblade.load_autoencoder(d / f'{name}.safetensors')
            assert vq == (cls is VQModel)
            old = {k: (v[:, :, None, None] if '.attentions.' in k and v.ndim == 2 else v) for k, v in old_attention_names(sd).items()}
            torch.save(old, d / f'{name}-old.bin')
            aeroblade.load_autoencoder(d / f'{name}-old.bin')
            ok(f'AEROBLADE {name}: .safetensors (fp16, current names) and .bin (old attention names, 1×1 convs)')
        vgg = torchvision.models.vgg16()
        torch.save(vgg.state_dict(), d / 'vgg16-397923af.pth')
        torch.save({f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1) for i, c in enumerate([64, 128, 256, 512, 512])}, d / 'vgg.pth')
        load_lpips_weights(LpipsVggLayer2(), d / 'vgg16-397923af.pth', d / 'vgg.pth')
        ok('LPIPS: torchvision vgg16 + lpips weights/v0.1/vgg.pth')

        tvin = torchvision.models.resnet50(num_classes=1000, norm_layer=nn.InstanceNorm2d)
        tvin.conv1.weight = nn.Parameter(torch.cat([tvin.conv1.weight * 0.25] * 2, dim=1))
        tvin.fc = nn.Linear(2048, 1)
        net = fire.FireNet()
        sd = {f'resnet.{k}': v for k, v in tvin.state_dict().items()}
        sd.update({f'vae.{k}': v.half() for k, v in old_attention_names(net.vae.state_dict()).items()})
        sd.update({f'fft_filter_module.{k}': v for k, v in net.fft_filter_module.state_dict().items()})
        torch.save(sd, d / 'model_0030.pt')
        fire.load_official(fire.FireNet(), d / 'model_0030.pt')
        ok('FIRE_model state dict (torchvision InstanceNorm resnet50, fp16 VAE with old attention names)')


if __name__ == '__main__':
    main()
