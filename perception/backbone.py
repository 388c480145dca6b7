"""A stride-4 feature map for dense heads: the workbench's ResNet-18-GN and a small FPN-style top-down
neck (Lin et al. 2017) that merges its four stages back to stride 4, where a 4 cm object seen by the
224 px ``agentview`` camera still spans ~5 cells. CenterNet's heads and the promptable segmenter's
mask decoder read it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from foundation.resnet import ResNet18GN, group_norm

STRIDE = 4  # input pixels per feature cell along each axis


class Stride4Features(nn.Module):
    """(B, H, W, 3) uint8 -> (B, channels, H/4, W/4). Subclassed (not wrapped) by the models that use
    it, so their weights keep the names ``backbone.*``, ``lateral.*``, ``smooth.*``."""

    def __init__(self, width: int, channels: int) -> None:
        super().__init__()
        self.backbone = ResNet18GN(3, width)
        widths = [width * m for m in (1, 2, 4, 8)]  # stages at strides 4, 8, 16, 32
        self.lateral = nn.ModuleList(nn.Conv2d(w, channels, 1) for w in widths)
        self.smooth = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), group_norm(channels), nn.ReLU()
        )

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (B, 3, H, W) in [-1, 1]
        x = self.backbone.stem(x)
        stages = []
        for stage in self.backbone.stages:
            x = stage(x)
            stages.append(x)
        top = self.lateral[-1](stages[-1])
        for lateral, feature in zip(reversed(self.lateral[:-1]), reversed(stages[:-1]), strict=True):
            top = lateral(feature) + F.interpolate(top, size=feature.shape[-2:], mode="nearest")
        out: torch.Tensor = self.smooth(top)
        return out
