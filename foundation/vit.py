"""A small Vision Transformer (Dosovitskiy et al. 2021) as an image encoder with the same interface as
``foundation.resnet.ResNetImageEncoder``: channel-last images in, one feature vector per image out.

Non-overlapping ``patch`` x ``patch`` patches, linearly embedded (a strided convolution), a learned
class token and learned position embeddings (bicubically resized when the image size differs from the
one it was built for), ``depth`` pre-norm transformer blocks (torch's ``TransformerEncoderLayer``),
and the class token's final LayerNorm-ed state projected to ``feature_dim``. At 84 px with 12 px
patches that is 49 tokens -- small enough to train from scratch on this CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ViTImageEncoder(nn.Module):
    def __init__(
        self, in_channels: int = 3, feature_dim: int = 64, width: int = 64, patch: int = 8, depth: int = 4,
        heads: int = 4, image_hw: tuple[int, int] = (84, 84),
    ) -> None:  # fmt: skip
        super().__init__()
        if width % heads:
            raise ValueError(f"ViT width {width} must divide by heads {heads}")
        self.in_channels, self.feature_dim, self.patch = in_channels, feature_dim, patch
        self.grid = (max(1, image_hw[0] // patch), max(1, image_hw[1] // patch))
        self.embed = nn.Conv2d(in_channels, width, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.randn(1, self.grid[0] * self.grid[1], width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, feature_dim)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, 1 + h*w, width) after the transformer (class token first)."""
        patches = self.embed(x)  # (N, width, h, w)
        h, w = patches.shape[-2:]
        pos: torch.Tensor = self.pos
        if (h, w) != self.grid:
            grid = pos.reshape(1, *self.grid, -1).permute(0, 3, 1, 2)
            pos = (
                F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
                .flatten(2)
                .transpose(1, 2)
            )
        seq = torch.cat([self.cls.expand(len(x), -1, -1), patches.flatten(2).transpose(1, 2) + pos], dim=1)
        out: torch.Tensor = self.blocks(seq)
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(..., H, W, C) uint8 in [0, 255] or float in [0, 1] -> (..., feature_dim)."""
        *lead, h, w, c = images.shape
        if c != self.in_channels:
            raise ValueError(
                f"expected channel-last images (..., H, W, {self.in_channels}), got {tuple(images.shape)}"
            )
        x = images.reshape(-1, h, w, c).permute(0, 3, 1, 2)  # (N, C, H, W)
        x = x.float() / 255.0 if images.dtype == torch.uint8 else x.float()
        feats = self.proj(self.norm(self.tokens(x * 2.0 - 1.0)[:, 0]))  # (N, feature_dim)
        return feats.reshape(*lead, self.feature_dim)
