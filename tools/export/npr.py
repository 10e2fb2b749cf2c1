#!/usr/bin/env python3
"""NPR — Tan et al., "Rethinking the Up-Sampling Operations in CNN-based Generative Network for
Generalizable Deepfake Detection", CVPR 2024. Code and weights (NPR.pth):
https://github.com/chuangchuangtan/NPR-DeepfakeDetection — the repository carries no licence file.

Network (networks/resnet.py): NPR = x − nearest(×2, nearest(×0.5, x)); conv1 3×3/2 on NPR·2/3,
BN, ReLU, max-pool, ResNet-50 layer1–2, global average pool, fc1 512→1.
Preprocessing (data/datasets.py, test.py): PIL RGB; the main benchmarks resize to 256×256
(transforms.Resize((256, 256)), bilinear), GANGen-Detection keeps the native resolution (--native);
no crop; ToTensor; ImageNet mean/std. Odd sizes would crash the official code; genguard trims the
last row/column instead (sizeMultiple 2). Output: sigmoid(logit).

  python3 tools/export/npr.py --checkpoint NPR.pth [--native] --write-manifest models/manifest.json
  python3 tools/export/npr.py --self-test
Self-test model: the same network at width 8 instead of 64 (layer widths 8/32/64 instead of 64/256/512)."""
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

from lib.cli import done_fixture, file_field, finish, fixture_images, parser, sigmoid  # noqa: E402
from lib.common import (BYO_FIXTURES, IMAGENET_MEAN, IMAGENET_STD, export_onnx, load_state_dict, load_strict,  # noqa: E402
                        log, manifest_entry, randomize, spread_head, synthetic_image, torchvision_input)
from lib.resnet import NPRNet  # noqa: E402

LICENCE = 'no licence file in the NPR repository (all rights reserved by the authors unless they say otherwise)'
SOURCE = 'https://github.com/chuangchuangtan/NPR-DeepfakeDetection (NPR.pth)'


def spec(native):
    return {
        'compat': 'torchvision',
        'resize': {'mode': 'none', 'kernel': 'linear'} if native else {'mode': 'exact', 'size': 256, 'kernel': 'linear'},
        'crop': {'mode': 'none', 'count': 1, 'pad': True},
        'scale': 255, 'mean': list(IMAGENET_MEAN), 'std': list(IMAGENET_STD), 'sizeMultiple': 2,
    }


def entry(model_id, file, sha, native):
    how = 'native resolution (open-world setting)' if native else 'resized to 256×256, bilinear (main benchmarks)'
    return manifest_entry(
        id=model_id, method='classifier', file=file, sha256=sha, weight=1, enabled=True, slow=False,
        preprocess=spec(native), postprocess={'activation': 'sigmoid', 'aggregate': 'mean_logit'},
        description=f'NPR (Tan et al., CVPR 2024), NPR.pth; {how}', licence=LICENCE, source=SOURCE,
    )


def load_official(path):
    """test.py: resnet50(num_classes=1).load_state_dict(torch.load(path), strict=True); also accepts
    {'model': …} and DataParallel's `module.` prefix, both seen in copies of NPR.pth."""
    net = NPRNet().eval()
    load_strict(net, load_state_dict(path), f'NPR {path}')
    return net


def export(net, path):
    return export_onnx(net, torch.zeros(1, 3, 64, 64), path, ['image'], ['logit'],
                       {'image': {0: 'n', 2: 'h', 3: 'w'}, 'logit': {0: 'n'}})


def self_test(args):
    torch.manual_seed(args.seed)
    net = randomize(NPRNet(width=8), args.seed)
    imgs = {'a': synthetic_image(300, 200, 21), 'b': synthetic_image(120, 90, 22), 'c': synthetic_image(65, 51, 23),
            'd': synthetic_image(96, 128, 24)}
    files = fixture_images('npr', imgs)
    cases = [('resize256', False, ['a', 'b']), ('native', True, ['c', 'd'])]
    with torch.no_grad():
        spread_head(net.fc1, torch.cat([net(torchvision_input(imgs[n], spec(nat))) for _, nat, ns in cases for n in ns]))
    sha = export(net, BYO_FIXTURES / 'npr.onnx')
    out = []
    for name, native, names in cases:
        rows = []
        for n in names:
            with torch.no_grad():
                logit = float(net(torchvision_input(imgs[n], spec(native)))[0, 0])
            rows.append({'file': files[n], 'logit': logit, 'score': sigmoid(logit)})
        out.append({'name': name, 'entry': entry(f'npr-{name}', 'npr.onnx', sha, native), 'images': rows})
    done_fixture('npr', {
        'method': 'npr', 'generatedBy': 'tools/export/npr.py --self-test', 'tolerance': 1e-4,
        'note': 'NPR network (nearest ×0.5/×2 residual, 3×3/2 stem, ResNet-50 layer1–2, fc1) at width 8 instead of 64, '
                'random weights; image c (65×51) checks the even-size trim',
        'cases': out,
    })


def main():
    p = parser(__doc__, 'npr-official')
    p.add_argument('--native', action='store_true', help='keep the native resolution instead of resizing to 256×256')
    args = p.parse_args()
    if args.self_test:
        return self_test(args)
    if args.random_weights:
        net = randomize(NPRNet(), args.seed)
    else:
        net = load_official(args.checkpoint[0])
    path = args.out / f'{args.id}.onnx'
    log(f'exporting to {path}')
    sha = export(net, path)
    finish(entry(args.id, file_field(path, args), sha, args.native), args)


if __name__ == '__main__':
    main()
