"""OpenAI CLIP's VisionTransformer (clip/model.py), module for module, so `visual.*` of the
official ViT-L-14.pt loads unchanged, plus UnivFD's linear head (models/clip_models.py: fc 768→1)."""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn


class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.type(torch.float32)).type(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ('c_fc', nn.Linear(d_model, d_model * 4)),
            ('gelu', QuickGELU()),
            ('c_proj', nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution=224, patch_size=14, width=1024, layers=24, heads=16, output_dim=768):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class UnivFD(nn.Module):
    """UnivFD (Ojha et al., CVPR 2023): frozen CLIP image encoder + one linear layer."""

    def __init__(self, **vit):
        super().__init__()
        self.visual = VisionTransformer(**vit)
        self.fc = nn.Linear(self.visual.proj.shape[1], 1)

    def forward(self, x):
        return self.fc(self.visual(x))


def vit_config_from_state_dict(sd: dict) -> dict:
    """The hyper-parameters clip.model.build_model derives from a checkpoint."""
    width = sd['visual.conv1.weight'].shape[0]
    layers = len({k.split('.')[3] for k in sd if k.startswith('visual.transformer.resblocks.') and k.endswith('attn.in_proj_weight')})
    patch = sd['visual.conv1.weight'].shape[-1]
    grid = round((sd['visual.positional_embedding'].shape[0] - 1) ** 0.5)
    return dict(input_resolution=patch * grid, patch_size=patch, width=width, layers=layers, heads=width // 64,
                output_dim=sd['visual.proj'].shape[1])
