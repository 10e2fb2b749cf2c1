#!/usr/bin/env python3
"""Writes test/fixtures/parity/byo/pil-resize.json: Pillow's own output for a few resizes and
torchvision center crops, so the TypeScript re-implementation (compat "torchvision") is checked
byte for byte against the real thing.  python3 tools/export/pil_cases.py"""
import sys

sys.dont_write_bytecode = True

import base64  # noqa: E402

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms as T  # noqa: E402
from PIL import Image  # noqa: E402

from lib.common import synthetic_image, write_fixture  # noqa: E402

KERNELS = {'nearest': Image.NEAREST, 'linear': Image.BILINEAR, 'cubic': Image.BICUBIC, 'lanczos3': Image.LANCZOS}


def b64(img):
    return base64.b64encode(np.asarray(img, dtype=np.uint8).tobytes()).decode()


def main():
    src = synthetic_image(37, 23, 7)
    cases = []
    for kernel, f in KERNELS.items():
        for w, h in [(16, 16), (50, 40), (20, 30), (37, 11), (90, 23)]:
            cases.append({'kernel': kernel, 'width': w, 'height': h, 'output': b64(src.resize((w, h), f))})
    shorter = []
    for w, h, s in [(300, 260, 256), (200, 180, 256), (37, 23, 16), (23, 37, 50)]:
        out = T.Resize(s)(Image.new('RGB', (w, h)))
        shorter.append({'width': w, 'height': h, 'size': s, 'outWidth': out.size[0], 'outHeight': out.size[1]})
    crops = []
    for size in [9, 20, 23, 24, 30, 41]:
        crops.append({'size': size, 'output': b64(T.CenterCrop(size)(src))})
    write_fixture('pil-resize', {
        'generatedBy': f'tools/export/pil_cases.py (Pillow {PIL.__version__}, torchvision {torchvision.__version__})',
        'source': {'width': src.size[0], 'height': src.size[1], 'data': b64(src)},
        'resize': cases, 'shorter': shorter, 'centerCrop': crops,
    })


if __name__ == '__main__':
    main()
