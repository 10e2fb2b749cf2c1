"""Model specs (the manifest preprocess blocks), builders, held-back views and metrics."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from . import data
from .models import NPR, CNNSpot, Probe, ProbeFeatures, mobilenet_from_nsfwjs
from .pipeline import preprocess

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

SPECS = {
    # No resize: NPR reads the 2×2 nearest-upsampling residual at native resolution.
    'npr': {'resize': {'mode': 'none'}, 'sizeMultiple': 2,
            'crop': {'mode': 'grid', 'size': 192, 'count': 4, 'pad': True},
            'scale': 255, 'mean': IMAGENET_MEAN, 'std': IMAGENET_STD},
    # CNNSpot tests at native resolution too (no resize), Keras MobileNetV2 input range [-1, 1].
    'cnnspot': {'resize': {'mode': 'none'}, 'sizeMultiple': 2,
                'crop': {'mode': 'grid', 'size': 192, 'count': 4, 'pad': True},
                'scale': 127.5, 'mean': [1, 1, 1], 'std': [1, 1, 1]},
    # UnivFD-style: whole image resized (shorter side 224) and centre-cropped, frozen features.
    'probe': {'resize': {'mode': 'shorter', 'size': 224, 'kernel': 'lanczos3'}, 'sizeMultiple': 1,
              'crop': {'mode': 'center', 'size': 224, 'count': 1, 'pad': True},
              'scale': 127.5, 'mean': [1, 1, 1], 'std': [1, 1, 1]},
}
TRAIN_CROP = {'npr': 160, 'cnnspot': 192}
NSFWJS_DIR = os.path.join(data.CACHE, 'nsfwjs', 'mobilenet_v2')


def build(model_id: str) -> torch.nn.Module:
    if model_id == 'npr':
        return NPR()
    backbone, _ = mobilenet_from_nsfwjs(NSFWJS_DIR)
    if model_id == 'cnnspot':
        return CNNSpot(backbone)
    return Probe(ProbeFeatures(backbone))


def seed_all(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# Deployment-like view of each held-back image: same augmentation family as training, fixed seed.
CAL_AUG = data.AugCfg(p_resize=0.3, scale=(0.5, 1.0), p_blur=0.1, p_jpeg=0.7, quality=(60, 100), p_webp=0.1)


def cal_views(items: list[data.Item], seed: int = 7) -> list[tuple[np.ndarray, int, str]]:
    out = []
    for i, it in enumerate(items):
        rng = random.Random(seed * 1_000_003 + i)
        out.append((data.augment(it.img, rng, CAL_AUG), it.label, it.source))
    return out


@torch.no_grad()
def logits_for(model: torch.nn.Module, images: list[np.ndarray], spec: dict, batch: int = 32) -> list[np.ndarray]:
    """Raw per-crop logits per image through the manifest pipeline."""
    model.eval()
    outs: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    counts: list[int] = []

    def flush():
        if not pending:
            return
        # Crops of different images share a size only within one spec, so stacking is safe.
        x = torch.from_numpy(np.concatenate(pending))
        y = torch.cat([model(x[j:j + batch]) for j in range(0, len(x), batch)]).reshape(-1).double().numpy()
        o = 0
        for c in counts:
            outs.append(y[o:o + c]); o += c
        pending.clear(); counts.clear()

    for img in images:
        t = preprocess(img, spec)
        if spec['crop']['mode'] == 'none':
            outs_single = model(torch.from_numpy(t)).reshape(-1).double().numpy()
            flush(); outs.append(outs_single); continue
        pending.append(t); counts.append(len(t))
        if sum(counts) >= 64:
            flush()
    flush()
    return outs


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half."""
    y = np.asarray(y); s = np.asarray(s, dtype=np.float64)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    sv = np.sort(neg)
    below = np.searchsorted(sv, pos, 'left')
    ties = np.searchsorted(sv, pos, 'right') - below
    return float((below + 0.5 * ties).sum() / (len(pos) * len(neg)))


def tpr_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float = 0.05) -> float:
    y = np.asarray(y); s = np.asarray(s, dtype=np.float64)
    neg = np.sort(s[y == 0])[::-1]
    k = int(np.floor(fpr * len(neg)))  # at most k negatives may score above the threshold
    thr = neg[k] if k < len(neg) else -np.inf
    return float((s[y == 1] > thr).mean())


def bootstrap_auc(y, s, n: int = 1000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    y = np.asarray(y); s = np.asarray(s)
    vals = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        vals.append(auc(y[i], s[i]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))
