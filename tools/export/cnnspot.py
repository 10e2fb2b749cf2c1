#!/usr/bin/env python3
"""CNNSpot — Wang et al., "CNN-generated images are surprisingly easy to spot… for now", CVPR 2020.
Official code and weights: https://github.com/PeterWang512/CNNDetection (weights/download_weights.sh:
blur_jpg_prob0.5.pth, blur_jpg_prob0.1.pth). Licence: CC BY-NC-SA 4.0 — non-commercial use only.

Network: torchvision ResNet-50 with fc 2048→1, `state_dict['model']` of the .pth.
Preprocessing (demo.py / demo_dir.py): PIL RGB, no resize, optional CenterCrop(--crop; the authors
recommend none), ToTensor, ImageNet mean/std. Output: sigmoid(logit) = P(synthetic).

  python3 tools/export/cnnspot.py --checkpoint weights/blur_jpg_prob0.1.pth --write-manifest models/manifest.json
  python3 tools/export/cnnspot.py --self-test
Self-test model: same ResNet-50 layout (3-4-6-3 bottlenecks) at width 4 instead of 64."""
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

from lib.cli import done_fixture, file_field, finish, fixture_images, parser, sigmoid  # noqa: E402
from lib.common import (IMAGENET_MEAN, IMAGENET_STD, BYO_FIXTURES, export_onnx, load_state_dict, load_strict,  # noqa: E402
                        log, manifest_entry, randomize, spread_head, synthetic_image, torchvision_input)
from lib.resnet import ResNet  # noqa: E402

LICENCE = 'CC BY-NC-SA 4.0 (non-commercial use only): weights of PeterWang512/CNNDetection'
SOURCE = 'https://github.com/PeterWang512/CNNDetection (weights/download_weights.sh)'


def spec(crop):
    return {
        'compat': 'torchvision',
        'resize': {'mode': 'none', 'kernel': 'linear'},
        'crop': {'mode': 'center', 'size': crop, 'count': 1, 'pad': True} if crop else {'mode': 'none', 'count': 1, 'pad': True},
        'scale': 255, 'mean': list(IMAGENET_MEAN), 'std': list(IMAGENET_STD), 'sizeMultiple': 1,
    }


def entry(model_id, file, sha, crop, checkpoint='blur_jpg_prob0.1.pth'):
    return manifest_entry(
        id=model_id, method='classifier', file=file, sha256=sha, weight=1, enabled=True, slow=False,
        preprocess=spec(crop), postprocess={'activation': 'sigmoid', 'aggregate': 'mean_logit'},
        description=f'CNNSpot (Wang et al., CVPR 2020), ResNet-50, {checkpoint}, '
                    + (f'center crop {crop}' if crop else 'full image (no crop, as the authors recommend)'),
        licence=LICENCE, source=SOURCE,
    )


def load_official(path):
    """demo.py: model.load_state_dict(torch.load(path)['model']) into resnet50(num_classes=1)."""
    net = ResNet().eval()
    load_strict(net, load_state_dict(path, prefer_keys=('model',)), f'CNNSpot {path}')
    return net


def export(net, path):
    return export_onnx(net, torch.zeros(1, 3, 64, 64), path, ['image'], ['logit'],
                       {'image': {0: 'n', 2: 'h', 3: 'w'}, 'logit': {0: 'n'}})


def self_test(args):
    torch.manual_seed(args.seed)
    net = randomize(ResNet(width=4), args.seed)
    imgs = {'a': synthetic_image(64, 48, 1), 'b': synthetic_image(45, 37, 2),
            'c': synthetic_image(230, 227, 3), 'd': synthetic_image(100, 80, 4)}
    files = fixture_images('cnnspot', imgs)
    cases = [('native', None, ['a', 'b']), ('crop224', 224, ['c', 'd'])]
    with torch.no_grad():
        feats = [torchvision_input(imgs[n], spec(crop)) for _, crop, names in cases for n in names]
        spread_head(net.fc, torch.cat([net(x) for x in feats]))
    sha = export(net, BYO_FIXTURES / 'cnnspot.onnx')
    out = []
    for name, crop, names in cases:
        e = entry(f'cnnspot-{name}', 'cnnspot.onnx', sha, crop)
        rows = []
        for n in names:
            with torch.no_grad():
                logit = float(net(torchvision_input(imgs[n], spec(crop)))[0, 0])
            rows.append({'file': files[n], 'logit': logit, 'score': sigmoid(logit)})
        out.append({'name': name, 'entry': e, 'images': rows})
    done_fixture('cnnspot', {
        'method': 'cnnspot', 'generatedBy': 'tools/export/cnnspot.py --self-test', 'tolerance': 1e-4,
        'note': 'torchvision ResNet-50 layout (3-4-6-3 bottlenecks, fc→1) at width 4 instead of 64, random weights',
        'cases': out,
    })


def main():
    p = parser(__doc__, 'cnnspot-official')
    p.add_argument('--crop', type=int, default=None, help='center crop size (the authors recommend none)')
    args = p.parse_args()
    if args.self_test:
        return self_test(args)
    if args.random_weights:
        net = randomize(ResNet(), args.seed)
        ckpt = 'random weights'
    else:
        net = load_official(args.checkpoint[0])
        ckpt = args.checkpoint[0].name
    path = args.out / f'{args.id}.onnx'
    log(f'exporting to {path}')
    sha = export(net, path)
    finish(entry(args.id, file_field(path, args), sha, args.crop, ckpt), args)


if __name__ == '__main__':
    main()
