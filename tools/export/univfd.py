#!/usr/bin/env python3
"""UnivFD — Ojha, Li, Lee, "Towards Universal Fake Image Detectors that Generalize Across
Generative Models", CVPR 2023. Code: https://github.com/WisconsinAIVision/UniversalFakeDetect (MIT).

Network: OpenAI CLIP ViT-L/14 image encoder (frozen; ViT-L-14.pt, MIT) + nn.Linear(768, 1) from
pretrained_weights/fc_weights.pth. Preprocessing (validate.py RealFakeDataset): PIL RGB,
CenterCrop(224) with no resize (smaller images are zero-padded by torchvision), ToTensor, CLIP
mean/std. Output: sigmoid(logit).

  python3 tools/export/univfd.py --checkpoint ViT-L-14.pt fc_weights.pth --write-manifest models/manifest.json
  python3 tools/export/univfd.py --self-test
Self-test model: same VisionTransformer code with width 64, 2 layers, 2 heads, output 32
(ViT-L/14: width 1024, 24 layers, 16 heads, output 768); patch 14 and 224 input kept."""
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

from lib.clip_vit import UnivFD, vit_config_from_state_dict  # noqa: E402
from lib.cli import done_fixture, file_field, finish, fixture_images, parser, sigmoid  # noqa: E402
from lib.common import (BYO_FIXTURES, CLIP_MEAN, CLIP_STD, export_onnx, load_state_dict, load_strict, log,  # noqa: E402
                        manifest_entry, randomize, sha256_file, spread_head, synthetic_image, torchvision_input)

LICENCE = 'MIT (UnivFD fc_weights.pth, WisconsinAIVision/UniversalFakeDetect) + MIT (OpenAI CLIP ViT-L/14)'
SOURCE = ('https://github.com/WisconsinAIVision/UniversalFakeDetect (pretrained_weights/fc_weights.pth) + '
          'https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt')
CLIP_SHA256 = 'b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836'
FULL = dict(input_resolution=224, patch_size=14, width=1024, layers=24, heads=16, output_dim=768)
TINY = dict(input_resolution=224, patch_size=14, width=64, layers=2, heads=2, output_dim=32)

SPEC = {
    'compat': 'torchvision',
    'resize': {'mode': 'none', 'kernel': 'linear'},
    'crop': {'mode': 'center', 'size': 224, 'count': 1, 'pad': True},
    'scale': 255, 'mean': list(CLIP_MEAN), 'std': list(CLIP_STD), 'sizeMultiple': 1,
}


def entry(model_id, file, sha, what='CLIP ViT-L/14 + fc_weights.pth'):
    return manifest_entry(
        id=model_id, method='classifier', file=file, sha256=sha, weight=1, enabled=True, slow=False,
        timeoutMs=30000, preprocess=SPEC, postprocess={'activation': 'sigmoid', 'aggregate': 'mean_logit'},
        description=f'UnivFD (Ojha et al., CVPR 2023): {what}; center crop 224 without resizing',
        licence=LICENCE, source=SOURCE,
    )


def export(net, path):
    return export_onnx(net, torch.zeros(1, 3, 224, 224), path, ['image'], ['logit'], {'image': {0: 'n'}, 'logit': {0: 'n'}})


def load_official(paths):
    clip_sd = fc_sd = None
    for p in paths:
        sd = load_state_dict(p)
        if 'visual.conv1.weight' in sd:
            clip_sd = sd
            sha = sha256_file(p)
            if sha != CLIP_SHA256:
                log(f'warning: {p} is not the official ViT-L-14.pt (sha256 {sha})')
        elif set(sd) == {'weight', 'bias'}:
            fc_sd = sd
        else:
            raise SystemExit(f'{p}: neither a CLIP checkpoint nor UnivFD fc_weights.pth')
    if clip_sd is None or fc_sd is None:
        raise SystemExit('need both ViT-L-14.pt and fc_weights.pth')
    cfg = vit_config_from_state_dict(clip_sd)
    net = UnivFD(**cfg).eval()
    sd = {k: v.float() for k, v in clip_sd.items() if k.startswith('visual.')}
    sd.update({f'fc.{k}': v.float() for k, v in fc_sd.items()})
    load_strict(net, sd, 'UnivFD')
    return net


def self_test(args):
    torch.manual_seed(args.seed)
    net = randomize(UnivFD(**TINY), args.seed)
    imgs = {'a': synthetic_image(240, 230, 11), 'b': synthetic_image(200, 150, 12), 'c': synthetic_image(301, 180, 13)}
    files = fixture_images('univfd', imgs)
    with torch.no_grad():
        spread_head(net.fc, torch.cat([net(torchvision_input(i, SPEC)) for i in imgs.values()]))
    sha = export(net, BYO_FIXTURES / 'univfd.onnx')
    rows = []
    for n, img in imgs.items():
        with torch.no_grad():
            logit = float(net(torchvision_input(img, SPEC))[0, 0])
        rows.append({'file': files[n], 'logit': logit, 'score': sigmoid(logit)})
    done_fixture('univfd', {
        'method': 'univfd', 'generatedBy': 'tools/export/univfd.py --self-test', 'tolerance': 1e-4,
        'note': 'OpenAI CLIP VisionTransformer at width 64, 2 layers, 2 heads, output 32 (ViT-L/14: 1024/24/16/768), '
                'patch 14 and 224×224 input as in ViT-L/14; random weights',
        'cases': [{'name': 'crop224', 'entry': entry('univfd-test', 'univfd.onnx', sha, 'shrunk CLIP ViT'), 'images': rows}],
    })


def main():
    args = parser(__doc__, 'univfd-official').parse_args()
    if args.self_test:
        return self_test(args)
    net = randomize(UnivFD(**FULL), args.seed) if args.random_weights else load_official(args.checkpoint)
    path = args.out / f'{args.id}.onnx'
    log(f'exporting to {path}')
    sha = export(net, path)
    finish(entry(args.id, file_field(path, args), sha), args)


if __name__ == '__main__':
    main()
