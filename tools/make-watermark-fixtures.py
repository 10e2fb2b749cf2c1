#!/usr/bin/python3
"""
Builds test/fixtures/watermark/: small synthetic images carrying the open `invisible-watermark`
(`imwatermark`, MIT, github.com/ShieldMnt/invisible-watermark) "dwtDct" watermark the way the
public generator code embeds it, an unwatermarked control, and reference.json with what the
upstream decoder reads from every file. test/provenance/invisible-watermark.test.ts checks our
TypeScript decoder against that JSON.

Requirements: Debian's python3-opencv, python3-pywt, python3-numpy, python3-pil
(`apt-get install -y python3-opencv python3-pywt python3-pil`); run with /usr/bin/python3.

The algorithm comes from imwatermark/maxDct.py (class EmbedMaxDct), ShieldMnt/invisible-watermark
commit 580b0fb33dada4369c683e3d924f95bbaf8802e9 (the same file ships in the PyPI package
invisible-watermark 0.2.0). That file only needs cv2, pywt and numpy, so two ways to run:

  1. With the upstream file (what produced the committed fixtures). Put maxDct.py in a folder
     outside the repository, e.g.
       mkdir -p /tmp/imwatermark-ref && curl -o /tmp/imwatermark-ref/maxDct.py \
         https://raw.githubusercontent.com/ShieldMnt/invisible-watermark/580b0fb33dada4369c683e3d924f95bbaf8802e9/imwatermark/maxDct.py
     (or unpack it from `pip download invisible-watermark==0.2.0`), then
       /usr/bin/python3 tools/make-watermark-fixtures.py --upstream /tmp/imwatermark-ref
     Upstream EmbedMaxDct embeds and decodes, and the re-implementation below is checked
     against it (identical embedded pixels, identical decoded bits); any difference aborts.
  2. Without it: the re-implementation below embeds and decodes; reference.json then says so.

Nothing upstream is vendored into the repository. watermark.py (WatermarkEncoder/Decoder) is not
imported because it pulls in the rivaGan/onnxruntime/torch path; its few lines that matter are
restated here: bytes become bits with np.unpackbits (MSB first), r*c < 256*256 is refused, and
the decoder returns np.packbits of EmbedMaxDct.decode's booleans.

What EmbedMaxDct("dwtDct") does, as read from the source:
  - cv2.cvtColor(BGR2YUV) on the array as given (uint8 or float32, so the U offset is 128 or 0.5);
  - `for channel in range(2)` with scales [0, 36, 36]: channel 0 (Y) is skipped because its
    scale is 0 and channel 2 (V) is never reached, so only U carries the mark;
  - pywt.dwt2(U[:rows//4*4, :cols//4*4], 'haar') and only the LL band is used;
  - 4x4 blocks of LL, row-major, block k carries bit k % len(bits);
  - NO DCT in this path despite the name: in each block, the entry with the largest |value|
    among the 15 after [0][0] is set to (|v| // 36 + 0.25 + 0.5*bit) * 36 with v's sign;
  - reconstruction is pywt.idwt2((LL, (V, H, D))) — upstream swaps the H and V detail bands;
    LL is unaffected, and the same swap is kept here so the pixels match upstream exactly;
  - decoding: same LL blocks, bit = (|v| % 36) > 18 at the largest-|value| position, averaged
    per message bit over all blocks, then `mean * 255 > 127`.

Generator pipelines reproduced (read from their sources):
  - CompVis/stable-diffusion and Stability-AI/stablediffusion scripts/txt2img.py put_watermark:
    uint8 RGB -> cv2.COLOR_RGB2BGR -> encode -> [..., ::-1]; messages "StableDiffusionV1" / "SDV2"
    as bytes.
  - diffusers pipelines/stable_diffusion_xl/watermark.py: float32 0..255 array; since PR #7013
    (February 2024) it flips RGB->BGR before encode and back after, before that it passed RGB
    where BGR is expected; the pipeline then rounds to uint8. 48-bit message 0b1011...0 as "bits".
  - Stability-AI/generative-models sgm/inference/helpers.py (SDXL reference) and
    black-forest-labs/flux src/flux/util.py: float32, flipped to BGR, truncated to uint8 after.
    FLUX's 48-bit constant starts with two zero bits that bin()[2:] drops, so 46 bits are embedded.
"""
import argparse
import hashlib
import importlib.util
import io
import json
import os
import sys

import cv2
import numpy as np
import pywt
from PIL import Image

UPSTREAM_COMMIT = '580b0fb33dada4369c683e3d924f95bbaf8802e9'
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'watermark')

MESSAGES = {
    'sdxl': [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]],
    'flux': [int(b) for b in bin(0b001010101111111010000111100111001111010100101110)[2:]],
    'sd1': [int(b) for b in np.unpackbits(np.frombuffer('StableDiffusionV1'.encode('utf-8'), dtype=np.uint8))],
    'sd2': [int(b) for b in np.unpackbits(np.frombuffer('SDV2'.encode('utf-8'), dtype=np.uint8))],
}
# Colour order and sample type each decoder view assumes (see the TypeScript decoder).
VIEWS = ('u8-bgr', 'u8-rgb', 'f32-bgr', 'f32-rgb')


class MaxDctReimplementation:
    """Same arithmetic as upstream EmbedMaxDct with scales [0, 36, 36] and 4x4 blocks."""

    SCALE = 36
    BLOCK = 4

    def __init__(self, bits):
        self.bits = list(bits)

    def encode(self, bgr):
        rows, cols = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
        ll, (h, v, d) = pywt.dwt2(yuv[:rows, :cols, 1], 'haar')
        self._embed(ll)
        # Upstream passes (v, h, d) where pywt expects (h, v, d); kept for identical pixels.
        yuv[:rows, :cols, 1] = pywt.idwt2((ll, (v, h, d)), 'haar')
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)

    def decode(self, bgr, length):
        rows, cols = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
        ll = pywt.dwt2(yuv[:rows, :cols, 1], 'haar')[0]
        votes = [[] for _ in range(length)]
        for k, block in enumerate(self._blocks(ll)):
            flat = np.abs(block.flatten()[1:])
            pos = int(np.argmax(flat)) + 1
            value = abs(block[pos // 4][pos % 4])
            votes[k % length].append(1 if value % self.SCALE > 0.5 * self.SCALE else 0)
        return np.array([np.array(v).mean() for v in votes]) * 255 > 127

    def _blocks(self, ll):
        for i in range(ll.shape[0] // self.BLOCK):
            for j in range(ll.shape[1] // self.BLOCK):
                yield ll[i * 4:i * 4 + 4, j * 4:j * 4 + 4]

    def _embed(self, ll):
        for k, block in enumerate(self._blocks(ll)):
            bit = self.bits[k % len(self.bits)]
            pos = int(np.argmax(np.abs(block.flatten()[1:]))) + 1
            i, j = pos // 4, pos % 4
            v = block[i][j]
            q = (abs(v) // self.SCALE + 0.25 + 0.5 * bit) * self.SCALE
            block[i][j] = q if v >= 0.0 else -q  # block is a view into ll


class UpstreamMaxDct:
    def __init__(self, module, bits):
        self.module = module
        self.bits = list(bits)

    def encode(self, bgr):
        return self.module.EmbedMaxDct(self.bits, wmLen=len(self.bits)).encode(bgr)

    def decode(self, bgr, length):
        return self.module.EmbedMaxDct(watermarks=[], wmLen=length).decode(bgr)


def load_upstream(folder):
    path = os.path.join(folder, 'maxDct.py')
    spec = importlib.util.spec_from_file_location('imwatermark_maxDct_upstream', path)
    if spec is None or spec.loader is None:
        sys.exit(f'cannot load {path}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_size(arr):
    # watermark.py refuses both encode and decode below 256*256 pixels.
    if arr.shape[0] * arr.shape[1] < 256 * 256:
        raise RuntimeError('image too small, should be larger than 256x256')


class Codec:
    """Embeds/decodes with upstream when given, cross-checking the re-implementation each time."""

    def __init__(self, upstream):
        self.upstream = upstream

    def encode(self, bgr, bits):
        check_size(bgr)
        ours = MaxDctReimplementation(bits).encode(bgr.copy())
        if self.upstream is None:
            return ours
        theirs = UpstreamMaxDct(self.upstream, bits).encode(bgr.copy())
        if theirs.dtype != ours.dtype or not np.array_equal(theirs, ours, equal_nan=False):
            sys.exit('re-implementation embeds different pixels than upstream maxDct.py')
        return theirs

    def decode(self, bgr, length):
        check_size(bgr)
        ours = MaxDctReimplementation([]).decode(bgr, length)
        if self.upstream is None:
            return ours
        theirs = UpstreamMaxDct(self.upstream, []).decode(bgr, length)
        if not np.array_equal(np.asarray(theirs), ours):
            sys.exit('re-implementation decodes different bits than upstream maxDct.py')
        return np.asarray(theirs)


def synthetic(width, height, seed):
    """Smooth colour gradients, soft blobs and fine noise: float32 RGB in 0..255, not from any dataset."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height
    r = 60 + 150 * u + 20 * np.sin(6.0 * v + 1.0)
    g = 50 + 120 * v + 25 * np.cos(5.0 * u * v + 0.5)
    b = 170 - 110 * u * v + 15 * np.sin(9.0 * u)
    img = np.stack([r, g, b], axis=-1)
    # Colour texture at the 8-64 pixel scales the mark lives on. The scheme reads a 0 bit wrongly
    # wherever chroma is flat (the lowered coefficient stops being the block maximum), so a smooth
    # picture this small decodes worse than real generator output; the texture keeps the fixtures
    # representative without making them large.
    for cell, sigma in ((32, 40.0), (8, 30.0)):
        coarse = rng.normal(0, sigma, (height // cell + 1, width // cell + 1, 3)).astype(np.float32)
        img += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 0.3, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.float32)


def with_sky(rgb_f32, rows, seed):
    """The top rows replaced by a smooth sky gradient with faint noise: flat chroma, where upstream's
    own decoding reads most 0 bits as 1 and only the banded rule of our decoder still finds the mark."""
    rng = np.random.default_rng(seed)
    width = rgb_f32.shape[1]
    y, x = np.mgrid[0:rows, 0:width].astype(np.float32)
    t, u = y / rows, x / width
    sky = np.stack([95 + 70 * t + 8 * u, 150 + 45 * t + 4 * u, 225 + 20 * t - 3 * u], axis=-1)
    sky += rng.normal(0, 0.3, sky.shape).astype(np.float32)
    out = rgb_f32.copy()
    out[:rows] = np.clip(sky, 0, 255)
    return out


def sd_scripts(codec, rgb_f32, bits):
    """CompVis / Stability SD 1.x-2.x txt2img.py: uint8, cv2 RGB2BGR, encode, back to RGB."""
    rgb = rgb_f32.astype(np.uint8)  # x_sample.astype(np.uint8) in the script
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(codec.encode(bgr, bits)[:, :, ::-1])


def diffusers(codec, rgb_f32, bits, flip):
    """diffusers StableDiffusionXLWatermarker, then VaeImageProcessor's round to uint8."""
    arr = np.ascontiguousarray(rgb_f32[:, :, ::-1]) if flip else rgb_f32.copy()
    out = codec.encode(arr, bits)
    if flip:
        out = out[:, :, ::-1]
    return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def sgm(codec, rgb_f32, bits):
    """generative-models / FLUX reference WatermarkEmbedder, then astype(uint8) truncation."""
    out = codec.encode(np.ascontiguousarray(rgb_f32[:, :, ::-1]), bits)[:, :, ::-1]
    return np.clip(out, 0, 255).astype(np.uint8)


def bitstring(bits):
    return ''.join('1' if b else '0' for b in bits)


def decode_views(codec, bgr_u8):
    """Upstream decoder on each view our decoder tries, for every known message length."""
    arrays = {
        'u8-bgr': bgr_u8,
        'u8-rgb': np.ascontiguousarray(bgr_u8[:, :, ::-1]),
        'f32-bgr': bgr_u8.astype(np.float32),
        'f32-rgb': np.ascontiguousarray(bgr_u8[:, :, ::-1]).astype(np.float32),
    }
    out = {}
    for view in VIEWS:
        out[view] = {}
        for name, message in MESSAGES.items():
            bits = codec.decode(arrays[view], len(message))
            out[view][name] = {
                'bits': bitstring(bits),
                'agreeing': int(sum(int(a) == b for a, b in zip(bits, message))),
                'of': len(message),
            }
    return out


def save(rgb_u8, name, **pil_options):
    buffer = io.BytesIO()
    fmt = 'JPEG' if name.endswith('.jpg') else 'PNG'
    Image.fromarray(rgb_u8).save(buffer, format=fmt, **pil_options)
    data = buffer.getvalue()
    if len(data) >= 300 * 1024:
        sys.exit(f'{name} is {len(data)} bytes; keep fixtures under 300 KB')
    with open(os.path.join(OUT_DIR, name), 'wb') as f:
        f.write(data)
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--upstream', help='folder holding upstream imwatermark maxDct.py (see the docstring)')
    args = parser.parse_args()
    upstream = load_upstream(args.upstream) if args.upstream else None
    codec = Codec(upstream)
    os.makedirs(OUT_DIR, exist_ok=True)

    wide = synthetic(512, 320, seed=20250601)
    small = synthetic(256, 256, seed=20250602)
    sky = with_sky(synthetic(512, 320, seed=20250603), rows=200, seed=20250604)
    cases = [
        # file, RGB uint8 pixels, embedded message id, how
        ('control-512x320.png', np.round(wide).astype(np.uint8), None, 'no watermark (same picture as the 512x320 files)'),
        ('sd1-scripts-512x320.png', sd_scripts(codec, wide, MESSAGES['sd1']), 'sd1', 'SD 1.x txt2img.py (uint8, BGR)'),
        ('sd2-scripts-512x320.png', sd_scripts(codec, wide, MESSAGES['sd2']), 'sd2', 'SD 2.x txt2img.py (uint8, BGR)'),
        ('sdxl-diffusers-512x320.png', diffusers(codec, wide, MESSAGES['sdxl'], flip=True), 'sdxl', 'diffusers SDXL, RGB->BGR flip (float32, rounded)'),
        ('sdxl-diffusers-rgb-512x320.png', diffusers(codec, wide, MESSAGES['sdxl'], flip=False), 'sdxl', 'diffusers SDXL, older releases without the flip (float32, rounded)'),
        ('flux-reference-512x320.png', sgm(codec, wide, MESSAGES['flux']), 'flux', 'FLUX.1 reference code (float32, BGR, truncated)'),
        ('sdxl-uint8-256.png', sd_scripts(codec, small, MESSAGES['sdxl']), 'sdxl', 'imwatermark on uint8 BGR (as the invisible-watermark CLI does)'),
        ('sdxl-diffusers-sky-512x320.png', diffusers(codec, sky, MESSAGES['sdxl'], flip=True), 'sdxl',
         'diffusers SDXL, RGB->BGR flip (float32, rounded); top 200 rows a flat sky, where the upstream vote fails'),
    ]
    jpeg_of = {'sd1-scripts-512x320.png': 'sd1-scripts-512x320-q95.jpg', 'sdxl-diffusers-512x320.png': 'sdxl-diffusers-512x320-q95.jpg'}

    files = []
    for name, rgb, embedded, how in cases:
        outputs = [(name, save(rgb, name, optimize=True))]
        if name in jpeg_of:
            outputs.append((jpeg_of[name], save(rgb, jpeg_of[name], quality=95)))
        for out_name, data in outputs:
            bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)  # what detect.py does
            files.append({
                'file': out_name,
                'sha256': hashlib.sha256(data).hexdigest(),
                'width': int(bgr.shape[1]),
                'height': int(bgr.shape[0]),
                'embedded': embedded,
                'pipeline': how + (', saved as JPEG quality 95 (PIL, 4:2:0)' if out_name.endswith('.jpg') else ''),
                'decoded': decode_views(codec, bgr),
            })
            best = max((v[embedded]['agreeing'], k) for k, v in files[-1]['decoded'].items()) if embedded else None
            print(f'{out_name:36s} {len(data):7d} bytes  embedded={embedded}  best view agreement={best}')

    reference = {
        'about': 'Written by tools/make-watermark-fixtures.py; decoded bits are what the decoder named in "decoder" reads from each file.',
        'decoder': (f'upstream ShieldMnt/invisible-watermark imwatermark/maxDct.py @ {UPSTREAM_COMMIT} (EmbedMaxDct.decode)'
                    if upstream else 're-implementation in tools/make-watermark-fixtures.py (upstream maxDct.py not given)'),
        'views': {
            'u8-bgr': 'cv2.imread array (uint8, BGR): the reference decoder as Stability\'s detect.py runs it',
            'u8-rgb': 'same, colour channels reversed',
            'f32-bgr': 'cv2.imread array as float32 (U offset 0.5 instead of 128)',
            'f32-rgb': 'float32, colour channels reversed',
        },
        'versions': {'opencv': cv2.__version__, 'pywt': pywt.__version__, 'numpy': np.__version__},
        'messages': {k: bitstring(v) for k, v in MESSAGES.items()},
        'files': files,
    }
    with open(os.path.join(OUT_DIR, 'reference.json'), 'w') as f:
        json.dump(reference, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
