"""LPIPS (Zhang et al. 2018, `lpips` 0.1.4, net='vgg', version 0.1) cut at its second layer
(relu2_2), as AEROBLADE uses it: the spatial mean of lin1(‖φ(a)‖ − ‖φ(b)‖)² at that layer's
resolution (aeroblade/distances.py, _PatchedLPIPS with spatial=True, then .mean((2, 3)))."""
from __future__ import annotations

import torch
import torch.nn as nn


class LpipsVggLayer2(nn.Module):
    def __init__(self, c1=64, c2=128):
        super().__init__()
        self.register_buffer('shift', torch.tensor([-.030, -.088, -.188]).view(1, 3, 1, 1))
        self.register_buffer('scale', torch.tensor([.458, .448, .450]).view(1, 3, 1, 1))
        # torchvision vgg16().features[0:4] and [4:9]
        self.slice1 = nn.Sequential(nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU())
        self.slice2 = nn.Sequential(nn.MaxPool2d(2, 2), nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU())
        self.lin1 = nn.Conv2d(c2, 1, 1, bias=False)

    def features(self, x01):
        x = (2 * x01 - 1 - self.shift) / self.scale  # normalize=True, then ScalingLayer
        f = self.slice2(self.slice1(x))
        return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + 1e-10)

    def forward(self, a01, b01):
        """Distance map (N, 1, H/2, W/2) of two images in [0, 1]."""
        return self.lin1((self.features(a01) - self.features(b01)) ** 2)


def load_lpips_weights(module: LpipsVggLayer2, vgg16_path, lin_path) -> None:
    """torchvision's vgg16-397923af.pth (features.0/2/5/7) and lpips' weights/v0.1/vgg.pth (lin1)."""
    from .common import load_state_dict, load_strict

    vgg = load_state_dict(vgg16_path)
    lin = load_state_dict(lin_path)
    lin_w = lin.get('lin1.model.1.weight', lin.get('lin1.model.0.weight'))
    if lin_w is None:
        raise SystemExit(f'{lin_path}: no lin1 weights (expected lpips weights/v0.1/vgg.pth)')
    sd = {'shift': module.shift, 'scale': module.scale, 'lin1.weight': lin_w}
    for ours, theirs in {'slice1.0': 'features.0', 'slice1.2': 'features.2', 'slice2.1': 'features.5', 'slice2.3': 'features.7'}.items():
        sd[f'{ours}.weight'] = vgg[f'{theirs}.weight']
        sd[f'{ours}.bias'] = vgg[f'{theirs}.bias']
    load_strict(module, sd, 'LPIPS-VGG')
