"""Training pool, held-back calibration split, dev-eval sets and the augmentation shared by all models.

Everything is decoded once into training/cache/ (git-ignored); epochs then only augment in memory.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import pickle
import random
import tarfile
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms, ImageFilter, ImageOps

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.normpath(os.path.join(REPO, '..', 'shared', 'datasets'))
CACHE = os.path.join(REPO, 'training', 'cache')
SEED = 20251201
CAL_FRACTION = 0.2
DEV_SETS = ['e2-ai-or-not-game', 'e4-declan-wright', 'e5-ml72-playground']

_SRGB = ImageCms.createProfile('sRGB')


def decode(data: bytes) -> np.ndarray:
    """Mirror of the TS intake: EXIF orientation, ICC → sRGB, alpha flattened onto white, 8-bit RGB."""
    im = Image.open(io.BytesIO(data))
    im.load()
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 — broken EXIF: keep pixels as stored
        pass
    icc = im.info.get('icc_profile')
    if im.mode in ('P', 'PA', 'LA', 'L', 'I;16', 'I', 'F', '1'):
        im = im.convert('RGBA' if ('transparency' in im.info or im.mode in ('PA', 'LA')) else 'RGB')
    if im.mode == 'RGBA':
        bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im).convert('RGB')
    elif im.mode != 'RGB':
        im = im.convert('RGB')
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, src, _SRGB, outputMode='RGB')
        except Exception:  # noqa: BLE001 — unusable profile: assume sRGB
            pass
    return np.asarray(im, dtype=np.uint8).copy()


def read_tsv(path: str) -> list[dict[str, str]]:
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.DictReader(f, delimiter='\t'))


@dataclass
class Item:
    img: np.ndarray
    label: int  # 1 = AI-generated, 0 = real photo or human art
    source: str  # balancing bucket
    group: str  # items of one group (the 4 tiles of one SD grid) share a split
    split: str = 'train'  # 'train' or 'cal' (held back for calibration and ensemble weights)
    name: str = ''


def _bucket(folder: str, rel: str) -> str:
    return folder + '/' + rel.split('/')[0]


def _split_of(group: str) -> str:
    h = int(hashlib.sha256(f'{SEED}:{group}'.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return 'cal' if h < CAL_FRACTION else 'train'


def build_pool() -> list[Item]:
    items: list[Item] = []
    for folder, label in (('train/real', 0), ('train/human-art', 0), ('train/ai', 1)):
        base = os.path.join(SHARED, folder)
        for row in read_tsv(os.path.join(base, 'labels.tsv')):
            rel = row['path']
            with open(os.path.join(base, rel), 'rb') as f:
                img = decode(f.read())
            bucket = _bucket(folder, rel)
            if rel.startswith('sd-cheatsheet/'):
                # 2×2 grid of 512² generations; drop 8 px along the inner seams (WebP blur crosses them).
                assert img.shape[0] == 1024 and img.shape[1] == 1024, rel
                tiles = [img[0:504, 0:504], img[0:504, 520:1024], img[520:1024, 0:504], img[520:1024, 520:1024]]
                for i, t in enumerate(tiles):
                    items.append(Item(np.ascontiguousarray(t), label, bucket, rel, name=f'{rel}#{i}'))
            else:
                items.append(Item(img, label, bucket, rel, name=rel))
    for it in items:
        it.split = _split_of(it.group)
    return items


def load_cifake(split: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for label, cls in ((1, 'ai'), (0, 'real')):
        with tarfile.open(os.path.join(SHARED, 'train', 'cifake', f'cifake-{split}-{cls}.tar')) as tf:
            for m in sorted(tf.getmembers(), key=lambda m: m.name):
                if not m.isfile():
                    continue
                xs.append(decode(tf.extractfile(m).read()))
                ys.append(label)
    return np.stack(xs), np.array(ys, dtype=np.int64)


@dataclass
class DevImage:
    img: np.ndarray
    label: int
    set: str
    form: str
    name: str
    extra: dict = field(default_factory=dict)


def load_dev() -> list[DevImage]:
    out: list[DevImage] = []
    for s in DEV_SETS:
        base = os.path.join(SHARED, 'dev-eval', s)
        for row in read_tsv(os.path.join(base, 'labels.tsv')):
            with open(os.path.join(base, row['path']), 'rb') as f:
                img = decode(f.read())
            out.append(DevImage(img, 1 if row['label'] == 'ai' else 0, s, row['form'], row['path'],
                                {'pair': row.get('pair', ''), 'category': row.get('category', '')}))
    return out


def cached(name: str, build):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, name + '.pkl')
    if os.path.exists(path):
        with open(path, 'rb') as f:
            return pickle.load(f)
    value = build()
    with open(path + '.tmp', 'wb') as f:
        pickle.dump(value, f, protocol=4)
    os.replace(path + '.tmp', path)
    return value


def pool() -> list[Item]:
    return cached('pool', build_pool)


def cifake(split: str):
    return cached('cifake-' + split, lambda: load_cifake(split))


def dev() -> list[DevImage]:
    return cached('dev', load_dev)


# Share of each epoch per source bucket, so that no source (SD tiles, ImageNet) dominates its class.
SOURCE_SHARE = {
    'train/ai/sd-cheatsheet': 0.40, 'train/ai/gpt4o-cases': 0.18, 'train/ai/nano-banana': 0.27, 'train/ai/comfyui': 0.15,
    'train/real/imagenet': 0.45, 'train/real/metadata-extractor': 0.18, 'train/real/exif-samples': 0.04,
    'train/real/denoising': 0.23, 'train/human-art/manga109': 0.10,
}


def sample_weights(items: list[Item]) -> np.ndarray:
    counts: dict[str, int] = {}
    for it in items:
        counts[it.source] = counts.get(it.source, 0) + 1
    return np.array([SOURCE_SHARE[it.source] / counts[it.source] for it in items], dtype=np.float64)


# ---------------------------------------------------------------- augmentation (same for both classes)

_KERNELS = [Image.BILINEAR, Image.BICUBIC, Image.LANCZOS]


@dataclass
class AugCfg:
    p_resize: float = 0.5
    scale: tuple[float, float] = (0.5, 1.5)
    min_side: int = 0  # resize never goes below this (NPR: keep a full native crop)
    p_blur: float = 0.2
    sigma: tuple[float, float] = (0.2, 2.0)
    p_jpeg: float = 0.7
    quality: tuple[int, int] = (60, 100)
    p_webp: float = 0.1


def augment(img: np.ndarray, rng: random.Random, cfg: AugCfg) -> np.ndarray:
    im = Image.fromarray(img)
    if rng.random() < cfg.p_resize:
        s = rng.uniform(*cfg.scale)
        if cfg.min_side:
            s = max(s, cfg.min_side / min(im.size))
        w, h = max(1, round(im.width * s)), max(1, round(im.height * s))
        if (w, h) != im.size:
            im = im.resize((w, h), rng.choice(_KERNELS))
    if rng.random() < cfg.p_blur:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(*cfg.sigma)))
    r = rng.random()
    if r < cfg.p_jpeg:
        buf = io.BytesIO()
        im.save(buf, 'JPEG', quality=rng.randint(*cfg.quality), subsampling=rng.choice([0, 2, 2]))
        im = Image.open(io.BytesIO(buf.getvalue())).convert('RGB')
    elif r < cfg.p_jpeg + cfg.p_webp:
        buf = io.BytesIO()
        im.save(buf, 'WEBP', quality=rng.randint(70, 100))
        im = Image.open(io.BytesIO(buf.getvalue())).convert('RGB')
    return np.asarray(im, dtype=np.uint8)


# Codec histories the pool ties to one class: every SD tile went through lossy WebP (40 % of the AI
# share), every GPT-4o crop is an 8-bit palette PNG (18 %), while 45 % of the real share is ImageNet
# JPEG q≈96 and most other real crops are camera JPEGs. A residual model learns those codecs instead
# of generation traces. `codec_history` gives each item the histories the *other* class carries, with
# probabilities chosen so that P(history | AI) ≈ P(history | real) for each of the three.
_WEBP_SOURCES = {'train/ai/sd-cheatsheet'}
_PALETTE_SOURCES = {'train/ai/gpt4o-cases'}
_JPEG_SOURCES = {'train/real/imagenet', 'train/real/metadata-extractor', 'train/real/exif-samples'}
CODEC_MATCH = {
    # (p for items of the other class, p for same-class items without the history)
    'webp': (0.55, 0.25),
    'palette': (0.26, 0.10),
    'jpeg': (0.60, 0.10),
}


def codec_history(img: np.ndarray, label: int, source: str, rng: random.Random) -> np.ndarray:
    im = None

    def pil():
        return im if im is not None else Image.fromarray(img)

    def roundtrip(fmt: str, **kw):
        buf = io.BytesIO()
        pil().save(buf, fmt, **kw)
        return Image.open(io.BytesIO(buf.getvalue())).convert('RGB')

    has = {'webp': source in _WEBP_SOURCES, 'palette': source in _PALETTE_SOURCES, 'jpeg': source in _JPEG_SOURCES}
    owner = {'webp': 1, 'palette': 1, 'jpeg': 0}
    for kind in ('jpeg', 'palette', 'webp'):
        if has[kind]:
            continue
        p_other, p_same = CODEC_MATCH[kind]
        if rng.random() >= (p_other if label != owner[kind] else p_same):
            continue
        if kind == 'jpeg':
            im = roundtrip('JPEG', quality=rng.randint(88, 98), subsampling=rng.choice([0, 0, 2]))
        elif kind == 'palette':
            im = pil().quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG).convert('RGB')
        else:
            im = roundtrip('WEBP', quality=rng.randint(75, 95))
    return img if im is None else np.asarray(im, dtype=np.uint8)


def random_crop(img: np.ndarray, size: int, rng: random.Random) -> np.ndarray:
    """Random size×size window; smaller images are zero-padded bottom/right (the pipeline pads the same way)."""
    h, w = img.shape[:2]
    y = rng.randint(0, max(0, h - size))
    x = rng.randint(0, max(0, w - size))
    c = img[y:y + size, x:x + size]
    if c.shape[0] < size or c.shape[1] < size:
        return c, (c.shape[0], c.shape[1])
    return c, (size, size)
