"""torchvision-compatible ResNet (same module names, so official state dicts load as they are),
with two knobs the official code does not have: `width` (64 = the real network; smaller values
shrink every layer for the committed test models) and the stem/depth variants NPR uses."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (ResNet v1.5: the stride sits on the 3×3 conv)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm=nn.BatchNorm2d):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = norm(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = norm(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = norm(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet-50 by default. `stages=2, stem=3, fc_name='fc1'` gives NPR's truncated network."""

    def __init__(self, layers=(3, 4, 6, 3), width=64, in_channels=3, num_classes=1, norm=nn.BatchNorm2d,
                 stem=7, stages=4, fc_name='fc'):
        super().__init__()
        self.inplanes = width
        self.stages = stages
        self.fc_name = fc_name
        if stem == 7:
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = norm(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i in range(stages):
            setattr(self, f'layer{i + 1}', self._make_layer(width * 2 ** i, layers[i], 1 if i == 0 else 2, norm))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        setattr(self, fc_name, nn.Linear(width * 2 ** (stages - 1) * Bottleneck.expansion, num_classes))

    def _make_layer(self, planes, blocks, stride, norm):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * Bottleneck.expansion, stride),
                                       norm(planes * Bottleneck.expansion))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, norm)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes, norm=norm) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    @property
    def head(self) -> nn.Linear:
        return getattr(self, self.fc_name)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f'layer{i + 1}')(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.head(self.features(x))


class NPRNet(ResNet):
    """NPR (Tan et al., CVPR 2024), networks/resnet.py of chuangchuangtan/NPR-DeepfakeDetection:
    x − nearest(↑2, nearest(↓2, x)), scaled by 2/3, into a 3×3/2 stem, layer1–2, fc1 512→1."""

    def __init__(self, width=64):
        super().__init__(layers=(3, 4), width=width, stem=3, stages=2, fc_name='fc1')

    @staticmethod
    def interpolate(img, factor):
        down = F.interpolate(img, scale_factor=factor, mode='nearest', recompute_scale_factor=True)
        return F.interpolate(down, scale_factor=1 / factor, mode='nearest', recompute_scale_factor=True)

    def features(self, x):
        npr = x - self.interpolate(x, 0.5)
        return super().features(npr * 2.0 / 3.0)
