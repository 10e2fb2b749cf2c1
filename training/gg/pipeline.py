"""Python mirror of src/detector/preprocess.ts + postprocess.ts (the manifest contract).

Resizing uses PIL, not libvips, so resized inputs differ slightly from the TS pipeline; parity
fixtures are therefore sized so that the resize step is a no-op.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

_PIL_KERNEL = {'nearest': Image.NEAREST, 'linear': Image.BILINEAR, 'cubic': Image.BICUBIC, 'lanczos3': Image.LANCZOS}


def _round(x: float) -> int:  # JS Math.round
    return int(math.floor(x + 0.5))


def cover_size(w: int, h: int, size: int) -> tuple[int, int]:
    scale = size / min(w, h)
    return max(size, _round(w * scale)), max(size, _round(h * scale))


def resize_step(img: np.ndarray, spec: dict) -> np.ndarray:
    r = spec.get('resize', {'mode': 'none'})
    if r['mode'] == 'none':
        return img
    h, w = img.shape[:2]
    kernel = _PIL_KERNEL[r.get('kernel', 'linear')]
    if r['mode'] == 'exact':
        target = (r['size'], r['size'])
    else:
        target = cover_size(w, h, r['size'])
    if target == (w, h):
        return img
    return np.asarray(Image.fromarray(img).resize(target, kernel), dtype=np.uint8)


def crop_positions(w: int, h: int, size: int, count: int) -> list[tuple[int, int]]:
    k = math.ceil(math.sqrt(count))

    def axis(extent: int) -> list[int]:
        if extent <= size:
            return [0]
        if k == 1:
            return [(extent - size) // 2]
        return [(i * (extent - size)) // (k - 1) for i in range(k)]

    xs = list(dict.fromkeys(axis(w)))
    ys = list(dict.fromkeys(axis(h)))
    out = []
    for y in ys:
        for x in xs:
            if len(out) < count:
                out.append((x, y))
    return out


def normalise(crop: np.ndarray, spec: dict, out_h: int, out_w: int) -> np.ndarray:
    """CHW float32; the part beyond the crop stays 0 (padding after normalisation)."""
    scale = float(spec.get('scale', 255))
    mean = np.array(spec.get('mean', [0, 0, 0]), dtype=np.float32)
    std = np.array(spec.get('std', [1, 1, 1]), dtype=np.float32)
    out = np.zeros((3, out_h, out_w), dtype=np.float32)
    h, w = crop.shape[:2]
    # Same arithmetic as the TS loop: v * (1 / (scale * std)) + (-mean / std), in float32.
    mul = (np.float32(1) / (np.float32(scale) * std)).astype(np.float32)
    add = (-mean / std).astype(np.float32)
    x = crop.astype(np.float32).transpose(2, 0, 1)
    out[:, :h, :w] = x * mul[:, None, None] + add[:, None, None]
    return out


def preprocess(img: np.ndarray, spec: dict) -> np.ndarray:
    img = resize_step(img, spec)
    m = spec.get('sizeMultiple', 1)
    h, w = img.shape[:2]
    img = img[: h - h % m, : w - w % m]
    h, w = img.shape[:2]
    crop = spec.get('crop', {'mode': 'none'})
    if crop['mode'] == 'none':
        return normalise(img, spec, h, w)[None]
    size = crop['size']
    count = crop.get('count', 1) if crop['mode'] == 'grid' else 1
    pos = crop_positions(w, h, size, count)
    return np.stack([normalise(img[y:y + size, x:x + size], spec, size, size) for x, y in pos])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def score_of(logits: np.ndarray, post: dict) -> float:
    p = post.get('platt') or {'a': 1.0, 'b': 0.0}
    c = p['a'] * np.asarray(logits, dtype=np.float64) + p['b']
    agg = post.get('aggregate', 'mean_logit')
    if agg == 'mean_logit':
        return float(sigmoid(c.mean()))
    if agg == 'mean_prob':
        return float(sigmoid(c).mean())
    return float(sigmoid(c).max())


@torch.no_grad()
def raw_logits(model: torch.nn.Module, img: np.ndarray, spec: dict) -> np.ndarray:
    x = torch.from_numpy(preprocess(img, spec))
    return model(x).reshape(-1).double().numpy()
