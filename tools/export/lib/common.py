"""Checkpoint loading, ONNX export, manifest entries and parity fixtures shared by every exporter.

Nothing here downloads anything: operators pass the official checkpoints they fetched themselves.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
BYO_FIXTURES = REPO / 'test' / 'fixtures' / 'parity' / 'byo'
DEFAULT_OUT = REPO / 'models' / 'byo'  # git-ignored: official weights never go into the repository
OPSET = 17

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- checkpoints

_ST_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool,
}


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Minimal reader for the .safetensors format (8-byte header length, JSON header, raw data)."""
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        start, end = info['data_offsets']
        dtype = _ST_DTYPES[info['dtype']]
        buf = bytearray(data[start:end])
        t = torch.frombuffer(buf, dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info['shape']).clone()
    return out


def _torch_load(path: Path):
    """Tensors-only unpickling first; OpenAI's CLIP files are TorchScript archives; a few research
    checkpoints pickle other objects too (argparse options), which needs full unpickling."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 (torch raises several types here)
        pass
    try:
        return torch.jit.load(str(path), map_location='cpu')
    except Exception:  # noqa: BLE001
        pass
    log(f'{path}: holds more than tensors; unpickling it fully (only do this with files from the official source)')
    return torch.load(path, map_location='cpu', weights_only=False)


def load_state_dict(path: Path, prefer_keys=('state_dict', 'model')) -> dict[str, torch.Tensor]:
    """Loads a checkpoint as a flat state dict: unwraps {'model': …}/{'state_dict': …}, strips `module.`."""
    path = Path(path)
    if path.suffix == '.safetensors':
        sd = read_safetensors(path)
    else:
        sd = _torch_load(path)
        if isinstance(sd, torch.jit.ScriptModule):
            sd = sd.state_dict()
    for key in prefer_keys:
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict):
        raise SystemExit(f'{path}: not a state dict (got {type(sd).__name__})')
    return {k[7:] if k.startswith('module.') else k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def load_strict(module: torch.nn.Module, sd: dict, what: str, ignore_prefixes=()) -> None:
    """load_state_dict that names every missing/unexpected key instead of failing opaquely."""
    sd = {k: v for k, v in sd.items() if not any(k.startswith(p) for p in ignore_prefixes)}
    own = module.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    bad_shape = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
    if missing or unexpected or bad_shape:
        def show(keys):
            return ', '.join(keys[:8]) + (f' … (+{len(keys) - 8})' if len(keys) > 8 else '')
        raise SystemExit(
            f'{what}: checkpoint does not match the architecture\n'
            f'  missing: {show(missing)}\n  unexpected: {show(unexpected)}\n  wrong shape: {show(bad_shape)}'
        )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=True)


# ---------------------------------------------------------------- random weights

def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Seeded random weights, including norm statistics, so BN/GN folding is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / fan_in) ** 0.5)
            elif name.endswith('weight'):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in module.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return module.eval()


def spread_head(linear: torch.nn.Linear, logits: torch.Tensor, target: float = 1.5, max_scale: float = 1e6) -> None:
    """Rescales a random 1-logit head so fixture logits land in [-target, target] (no saturated sigmoid)."""
    with torch.no_grad():
        l = logits.flatten().double()
        m = float(l.mean())
        spread = float((l - m).abs().max())
        s = min(max_scale, target / spread if spread > 1e-12 else 1.0)
        linear.weight.mul_(s)
        linear.bias.copy_((linear.bias.double() - m) * s + 0.25)


# ---------------------------------------------------------------- fixtures

def synthetic_image(width: int, height: int, seed: int) -> Image.Image:
    """A deterministic 'photo-like' RGB image: smooth gradients, edges, a checkerboard and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2), rng.uniform(0, 6.28)
        img[..., c] = 128 + 70 * np.sin(fx * x + ph) * np.cos(fy * y) + 40 * (x / width - y / height)
    cx, cy, r = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height, min(width, height) / 4
    disc = (x - cx) ** 2 + (y - cy) ** 2 < r * r
    img[disc] = rng.uniform(0, 255, 3)
    checker = ((x.astype(int) // 4 + y.astype(int) // 4) % 2 == 0) & (x < width / 3) & (y > height / 2)
    img[checker] += 50
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), 'RGB')


def save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format='PNG', optimize=True)


def write_fixture(method: str, data: dict) -> Path:
    path = BYO_FIXTURES / f'{method}.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + '\n')
    return path


# ---------------------------------------------------------------- export + manifest

def export_onnx(module, args, path: Path, input_names, output_names, dynamic_axes, fold=True) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import onnx  # noqa: WPS433 (only needed when exporting)

    # torch.onnx's shape-inference chatter ("prim::Constant type is missing", instance_norm's
    # train flag) says nothing about the result; the parity tests do.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        torch.onnx.export(
            module, args, str(path), input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=fold,
        )
    model = onnx.load(str(path))
    model.producer_name = 'genguard tools/export'
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return sha256_file(path)


def manifest_entry(**fields) -> dict:
    """A models/manifest.json entry; keys follow src/detector/manifest.ts."""
    return {k: v for k, v in fields.items() if v is not None}


def write_manifest(path: Path, entry: dict) -> None:
    """Merges one entry into a manifest (replacing an entry with the same id), creating it if needed."""
    path = Path(path)
    manifest = json.loads(path.read_text(encoding='utf-8')) if path.exists() else {'version': 'byo', 'models': []}
    models = [m for m in manifest.get('models', []) if m.get('id') != entry['id']]
    models.append(entry)
    manifest['models'] = models
    tmp = path.with_suffix(path.suffix + '.tmp')
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + '\n', encoding='utf-8')
    os.replace(tmp, path)


def relative_to_manifest(file: Path, manifest: Path | None) -> str:
    base = Path(manifest).resolve().parent if manifest else REPO / 'models'
    try:
        return os.path.relpath(Path(file).resolve(), base)
    except ValueError:
        return str(Path(file).resolve())


def emit_entry(entry: dict, write_manifest_path) -> None:
    if write_manifest_path:
        write_manifest(Path(write_manifest_path), entry)
        log(f'merged "{entry["id"]}" into {write_manifest_path}')
    print(json.dumps(entry, indent=2, ensure_ascii=False))


# ---------------------------------------------------------------- official preprocessing (reference side)

_KERNELS = {'nearest': 'NEAREST', 'linear': 'BILINEAR', 'cubic': 'BICUBIC', 'lanczos3': 'LANCZOS'}


def torchvision_input(img: Image.Image, spec: dict) -> torch.Tensor:
    """The authors' preprocessing, done with torchvision.transforms on a PIL image, driven by the
    same spec the manifest carries (resize → sizeMultiple trim → center crop → ToTensor → Normalize).
    This is the reference the TypeScript pipeline (preprocess `compat: "torchvision"`) must match."""
    import torchvision.transforms as T
    from torchvision.transforms import InterpolationMode

    resize = spec.get('resize', {'mode': 'none'})
    if resize['mode'] != 'none':
        interp = getattr(InterpolationMode, _KERNELS[resize.get('kernel', 'linear')])
        size = resize['size']
        img = T.Resize((size, size) if resize['mode'] == 'exact' else size, interpolation=interp)(img)
    m = spec.get('sizeMultiple', 1)
    if m > 1:
        w, h = img.size
        img = img.crop((0, 0, w - w % m, h - h % m))
    crop = spec.get('crop', {'mode': 'none'})
    if crop['mode'] == 'center':
        img = T.CenterCrop(crop['size'])(img)
    elif crop['mode'] != 'none':
        raise ValueError('torchvision compat supports crop none|center')
    t = T.ToTensor()(img)
    if spec.get('scale', 255) != 255:
        raise ValueError('torchvision compat means scale 255 (ToTensor)')
    mean, std = spec.get('mean', [0, 0, 0]), spec.get('std', [1, 1, 1])
    if list(mean) != [0, 0, 0] or list(std) != [1, 1, 1]:
        t = T.Normalize(mean, std)(t)
    return t.unsqueeze(0)
