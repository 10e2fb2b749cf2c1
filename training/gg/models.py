"""Architectures: NPR (Tan et al., CVPR 2024), MobileNetV2 as in Keras (weights from nsfwjs), probe head."""
from __future__ import annotations

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ NPR


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


class NPR(nn.Module):
    """Official NPR network: ResNet-50 stem (3×3 stride-2 conv, 64 ch) + layer1 + layer2, fc 512→1.

    Input: ImageNet-normalised RGB with even height and width (the manifest trims to a multiple of 2).
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = 64
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(512, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        down = None
        if stride != 1 or self.inplanes != planes * 4:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, down)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        # Nearest ×0.5 then ×2 (official: F.interpolate twice); for even sizes ×0.5 nearest = every 2nd pixel.
        down = x[:, :, ::2, ::2]
        up = F.interpolate(down, scale_factor=2.0, mode='nearest')
        npr = x - up
        x = self.conv1(npr * (2.0 / 3.0))  # the authors' scaling
        x = self.maxpool(self.relu(self.bn1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc1(torch.flatten(self.avgpool(x), 1))


# ------------------------------------------------------------------ MobileNetV2 (Keras layout)

# (expansion t, out channels c, repeats n, stride s) — Sandler et al. 2018, width 1.0
_MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
_EPS = 1e-3  # Keras BatchNormalization default


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=_EPS, momentum=0.01)


class InvertedResidual(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, t: int, stride: int):
        super().__init__()
        self.name = name
        mid = cin * t
        self.expand = None
        if t != 1:
            self.expand = nn.Conv2d(cin, mid, 1, bias=False)
            self.expand_bn = _bn(mid)
        self.stride = stride
        # Keras pads stride-2 depthwise convs asymmetrically ((0,1),(0,1)) for even sizes, else 'same' (1 each side).
        self.dw = nn.Conv2d(mid, mid, 3, stride, 0 if stride == 2 else 1, groups=mid, bias=False)
        self.dw_bn = _bn(mid)
        self.project = nn.Conv2d(mid, cout, 1, bias=False)
        self.project_bn = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.expand is not None:
            y = F.relu6(self.expand_bn(self.expand(y)))
        if self.stride == 2:
            y = F.pad(y, (0, 1, 0, 1))
        y = F.relu6(self.dw_bn(self.dw(y)))
        y = self.project_bn(self.project(y))
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """Keras MobileNetV2 (alpha 1.0). Input: x/127.5 − 1, RGB, sizes that are multiples of 32."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
        self.conv1_bn = _bn(32)
        blocks = []
        cin, idx = 32, 0
        for t, c, n, s in _MBV2:
            for i in range(n):
                name = 'expanded_conv' if idx == 0 else f'block_{idx}'
                blocks.append(InvertedResidual(name, cin, c, t, s if i == 0 else 1))
                cin, idx = c, idx + 1
        self.blocks = nn.ModuleList(blocks)
        self.conv_last = nn.Conv2d(320, 1280, 1, bias=False)
        self.conv_last_bn = _bn(1280)

    def forward_features(self, x, taps: tuple[int, ...] = ()):
        """Returns the final 1280-channel map and, for each block index in `taps`, that block's output."""
        x = F.relu6(self.conv1_bn(self.conv1(F.pad(x, (0, 1, 0, 1)))))
        tapped = []
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i in taps:
                tapped.append(x)
        x = F.relu6(self.conv_last_bn(self.conv_last(x)))
        return x, tapped


def _dequant(buf: bytes, manifest: list[dict]) -> dict[str, np.ndarray]:
    out, off = {}, 0
    for w in manifest:
        n = int(np.prod(w['shape'])) if w['shape'] else 1
        q = w.get('quantization')
        if q:
            assert q['dtype'] == 'uint8'
            raw = np.frombuffer(buf, np.uint8, n, off).astype(np.float32)
            off += n
            arr = raw * np.float32(q['scale']) + np.float32(q['min'])
        else:
            arr = np.frombuffer(buf, np.float32, n, off)
            off += 4 * n
        out[w['name']] = arr.reshape(w['shape'])
    assert off == len(buf), (off, len(buf))
    return out


def load_tfjs(model_dir: str) -> dict[str, np.ndarray]:
    with open(os.path.join(model_dir, 'model.json')) as f:
        d = json.load(f)
    weights = {}
    for group in d['weightsManifest']:
        buf = b''.join(open(os.path.join(model_dir, p + '.bin'), 'rb').read() for p in group['paths'])
        weights.update(_dequant(buf, group['weights']))
    return weights


def _set_conv(conv: nn.Conv2d, k: np.ndarray, depthwise: bool = False):
    t = torch.from_numpy(np.ascontiguousarray(k.transpose(2, 3, 0, 1) if depthwise else k.transpose(3, 2, 0, 1)))
    assert t.shape == conv.weight.shape, (t.shape, conv.weight.shape)
    conv.weight.data.copy_(t)


def _set_bn(bn: nn.BatchNorm2d, w: dict, prefix: str):
    bn.weight.data.copy_(torch.from_numpy(w[prefix + '/gamma']))
    bn.bias.data.copy_(torch.from_numpy(w[prefix + '/beta']))
    bn.running_mean.copy_(torch.from_numpy(w[prefix + '/moving_mean']))
    bn.running_var.copy_(torch.from_numpy(w[prefix + '/moving_variance']))


def mobilenet_from_nsfwjs(model_dir: str) -> tuple[MobileNetV2, dict[str, np.ndarray]]:
    """Loads the Keras MobileNetV2 of nsfwjs' `mobilenet_v2` model; returns the net and the unused head weights."""
    w = load_tfjs(model_dir)
    used = set()
    m = MobileNetV2()

    def take(prefix):
        used.update(k for k in w if k.startswith(prefix + '/'))

    _set_conv(m.conv1, w['Conv1/kernel']); _set_bn(m.conv1_bn, w, 'bn_Conv1'); take('Conv1'); take('bn_Conv1')
    for b in m.blocks:
        n = b.name
        if b.expand is not None:
            _set_conv(b.expand, w[f'{n}_expand/kernel']); _set_bn(b.expand_bn, w, f'{n}_expand_BN')
            take(f'{n}_expand'); take(f'{n}_expand_BN')
        _set_conv(b.dw, w[f'{n}_depthwise/depthwise_kernel'], depthwise=True); _set_bn(b.dw_bn, w, f'{n}_depthwise_BN')
        _set_conv(b.project, w[f'{n}_project/kernel']); _set_bn(b.project_bn, w, f'{n}_project_BN')
        for s in ('_depthwise', '_depthwise_BN', '_project', '_project_BN'):
            take(n + s)
    _set_conv(m.conv_last, w['Conv_1/kernel']); _set_bn(m.conv_last_bn, w, 'Conv_1_bn'); take('Conv_1'); take('Conv_1_bn')
    rest = {k: v for k, v in w.items() if k not in used}
    return m, rest


class NsfwHead(nn.Module):
    """nsfwjs' own head (avgpool 7, dense 256 relu, dense 128 relu, dense 5) — only to verify the port."""

    def __init__(self, rest: dict[str, np.ndarray]):
        super().__init__()
        self.d1, self.d2, self.d3 = nn.Linear(1280, 256), nn.Linear(256, 128), nn.Linear(128, 5)
        for i, d in ((1, self.d1), (2, self.d2), (3, self.d3)):
            d.weight.data.copy_(torch.from_numpy(rest[f'dense_{i}/kernel'].T.copy()))
            d.bias.data.copy_(torch.from_numpy(rest[f'dense_{i}/bias']))

    def forward(self, f):
        x = f.mean((2, 3))
        return torch.softmax(self.d3(F.relu(self.d2(F.relu(self.d1(x))))), 1)


class CNNSpot(nn.Module):
    """CNNSpot recipe on MobileNetV2: pretrained backbone fine-tuned, global average pool, dropout, fc 1280→1."""

    def __init__(self, backbone: MobileNetV2):
        super().__init__()
        self.backbone = backbone
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(1280, 1)

    def forward(self, x):
        f, _ = self.backbone.forward_features(x)
        return self.fc(self.drop(f.mean((2, 3))))


PROBE_TAPS = (2, 5, 12, 16)  # block_2 (24 ch), block_5 (32), block_12 (96), block_16 (320)


class ProbeFeatures(nn.Module):
    """Frozen MobileNetV2: global-average-pooled outputs of four blocks + the final 1280 map (1752-d)."""

    def __init__(self, backbone: MobileNetV2):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        f, taps = self.backbone.forward_features(x, PROBE_TAPS)
        return torch.cat([t.mean((2, 3)) for t in taps] + [f.mean((2, 3))], 1)


class Probe(nn.Module):
    def __init__(self, features: ProbeFeatures, dim: int = 1752):
        super().__init__()
        self.features = features
        self.fc = nn.Linear(dim, 1)

    def forward(self, x):
        return self.fc(self.features(x))


def round_fp16_(model: nn.Module) -> nn.Module:
    """Rounds all float weights and buffers to fp16 precision (kept fp32), matching the fp16-stored ONNX."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model
