"""The diffusers autoencoders (AutoencoderKL of Stable Diffusion 1.x/2.x, VQModel/MoVQ of
Kandinsky 2.1), re-implemented module for module with diffusers' parameter names, so the official
`vae/diffusion_pytorch_model.*` and `movq/diffusion_pytorch_model.*` files load as they are
(both the current `to_q/to_k/to_v/to_out.0` and the older `query/key/value/proj_attn` names).

Widths and depth are parameters: the defaults are the real networks; the committed test models
use the same code with fewer channels and one resnet per block."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

SD_CONFIG = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32, latent_channels=4,
                 attn_down=(False, False, False, False), attn_up=(False, False, False, False))
MOVQ_CONFIG = dict(block_out_channels=(128, 256, 256, 512), layers_per_block=2, norm_num_groups=32, latent_channels=4,
                   attn_down=(False, False, False, True), attn_up=(True, False, False, False), vq_embed_dim=4)


class SpatialNorm(nn.Module):
    """MoVQ's conditional norm: GroupNorm(f) · conv_y(zq↑) + conv_b(zq↑) (diffusers SpatialNorm)."""

    def __init__(self, f_channels, zq_channels, groups=32):
        super().__init__()
        self.norm_layer = nn.GroupNorm(num_channels=f_channels, num_groups=groups, eps=1e-6, affine=True)
        self.conv_y = nn.Conv2d(zq_channels, f_channels, kernel_size=1)
        self.conv_b = nn.Conv2d(zq_channels, f_channels, kernel_size=1)

    def forward(self, f, zq):
        zq = F.interpolate(zq, size=f.shape[-2:], mode='nearest')
        return self.norm_layer(f) * self.conv_y(zq) + self.conv_b(zq)


def _norm(channels, groups, zq_channels):
    if zq_channels is None:
        return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)
    return SpatialNorm(channels, zq_channels, groups)


def _apply(norm, x, zq):
    return norm(x) if zq is None or not isinstance(norm, SpatialNorm) else norm(x, zq)


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, groups, zq_channels=None):
        super().__init__()
        self.norm1 = _norm(cin, groups, zq_channels)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = _norm(cout, groups, zq_channels)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, zq=None):
        h = self.conv1(F.silu(_apply(self.norm1, x, zq)))
        h = self.conv2(F.silu(_apply(self.norm2, h, zq)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attention(nn.Module):
    """Single-head spatial self-attention of the VAE mid blocks (diffusers Attention, residual)."""

    def __init__(self, channels, groups, zq_channels=None):
        super().__init__()
        if zq_channels is None:
            self.group_norm = nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)
            self.spatial_norm = None
        else:
            self.group_norm = None
            self.spatial_norm = SpatialNorm(channels, zq_channels, groups)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x, zq=None):
        residual = x
        if self.spatial_norm is not None:
            x = self.spatial_norm(x, zq)
        b, c, h, w = x.shape
        x = x.view(b, c, h * w).transpose(1, 2)
        if self.group_norm is not None:
            x = self.group_norm(x.transpose(1, 2)).transpose(1, 2)
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        attn = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (c ** -0.5), dim=-1)
        x = self.to_out[0](torch.bmm(attn, v))
        return x.transpose(1, 2).reshape(b, c, h, w) + residual


class Downsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode='constant', value=0.0))


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class _Block(nn.Module):
    def __init__(self, cin, cout, n, groups, attention, sample, zq_channels=None):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups, zq_channels) for i in range(n)])
        if attention:
            self.attentions = nn.ModuleList([Attention(cout, groups, zq_channels) for _ in range(n)])
        else:
            self.attentions = None
        if sample == 'down':
            self.downsamplers = nn.ModuleList([Downsample2D(cout)])
        elif sample == 'up':
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])
        self.sample = sample

    def forward(self, x, zq=None):
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, zq)
            if self.attentions is not None:
                x = self.attentions[i](x, zq)
        if self.sample == 'down':
            x = self.downsamplers[0](x)
        elif self.sample == 'up':
            x = self.upsamplers[0](x)
        return x


class MidBlock(nn.Module):
    def __init__(self, channels, groups, zq_channels=None):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, groups, zq_channels) for _ in range(2)])
        self.attentions = nn.ModuleList([Attention(channels, groups, zq_channels)])

    def forward(self, x, zq=None):
        x = self.resnets[0](x, zq)
        x = self.attentions[0](x, zq)
        return self.resnets[1](x, zq)


class Encoder(nn.Module):
    def __init__(self, block_out_channels, layers_per_block, norm_num_groups, out_channels, attn_down, **_):
        super().__init__()
        ch = block_out_channels
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        blocks = []
        prev = ch[0]
        for i, c in enumerate(ch):
            last = i == len(ch) - 1
            blocks.append(_Block(prev, c, layers_per_block, norm_num_groups, attn_down[i], None if last else 'down'))
            prev = c
        self.down_blocks = nn.ModuleList(blocks)
        self.mid_block = MidBlock(ch[-1], norm_num_groups)
        self.conv_norm_out = nn.GroupNorm(num_channels=ch[-1], num_groups=norm_num_groups, eps=1e-6)
        self.conv_out = nn.Conv2d(ch[-1], out_channels, 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, block_out_channels, layers_per_block, norm_num_groups, latent_channels, attn_up,
                 spatial_zq=None, **_):
        super().__init__()
        rev = list(reversed(block_out_channels))
        self.conv_in = nn.Conv2d(latent_channels, rev[0], 3, padding=1)
        self.mid_block = MidBlock(rev[0], norm_num_groups, spatial_zq)
        blocks = []
        prev = rev[0]
        for i, c in enumerate(rev):
            last = i == len(rev) - 1
            blocks.append(_Block(prev, c, layers_per_block + 1, norm_num_groups, attn_up[i], None if last else 'up', spatial_zq))
            prev = c
        self.up_blocks = nn.ModuleList(blocks)
        self.conv_norm_out = _norm(block_out_channels[0], norm_num_groups, spatial_zq)
        self.conv_out = nn.Conv2d(block_out_channels[0], 3, 3, padding=1)

    def forward(self, z, zq=None):
        x = self.conv_in(z)
        x = self.mid_block(x, zq)
        for block in self.up_blocks:
            x = block(x, zq)
        return self.conv_out(F.silu(_apply(self.conv_norm_out, x, zq)))


class AutoencoderKL(nn.Module):
    def __init__(self, **cfg):
        super().__init__()
        cfg = {**SD_CONFIG, **cfg}
        lat = cfg['latent_channels']
        self.encoder = Encoder(out_channels=2 * lat, **cfg)
        self.decoder = Decoder(**cfg)
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)

    def posterior(self, x):
        """Mean and std of diffusers' DiagonalGaussianDistribution (logvar clamped to [−30, 20])."""
        mean, logvar = torch.chunk(self.quant_conv(self.encoder(x)), 2, dim=1)
        return mean, torch.exp(0.5 * torch.clamp(logvar, -30.0, 20.0))

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


class VQModel(nn.Module):
    """Kandinsky 2.1's MoVQ. AEROBLADE decodes with force_not_quantize=True, so the codebook
    (`quantize.*`) is never used and is not part of this module."""

    def __init__(self, **cfg):
        super().__init__()
        cfg = {**MOVQ_CONFIG, **cfg}
        lat, emb = cfg['latent_channels'], cfg['vq_embed_dim']
        self.encoder = Encoder(out_channels=lat, **cfg)
        self.quant_conv = nn.Conv2d(lat, emb, 1)
        self.post_quant_conv = nn.Conv2d(emb, lat, 1)
        self.decoder = Decoder(spatial_zq=lat, **cfg)

    def encode(self, x):
        return self.quant_conv(self.encoder(x))

    def decode(self, h):
        return self.decoder(self.post_quant_conv(h), h)


_OLD_ATTN = {'query.': 'to_q.', 'key.': 'to_k.', 'value.': 'to_v.', 'proj_attn.': 'to_out.0.'}


def convert_vae_keys(sd: dict, module: nn.Module) -> dict:
    """Old diffusers names (query/key/value/proj_attn, sometimes 1×1 convs) → current ones."""
    own = module.state_dict()
    out = {}
    for k, v in sd.items():
        nk = k
        if '.attentions.' in k:
            for old, new in _OLD_ATTN.items():
                nk = nk.replace('.' + old, '.' + new)
        if nk in own and v.ndim == 4 and own[nk].ndim == 2:
            v = v[:, :, 0, 0]
        out[nk] = v
    return out
