"""ResNet-18 with GroupNorm, written from scratch, and the image encoder built on it.

He et al. 2016, "Deep Residual Learning". Visuomotor policies replace BatchNorm by GroupNorm
(Chi et al. 2023, "Diffusion Policy", sec. 4.2; robomimic): BatchNorm's running statistics drift
when the policy is trained with an EMA of the weights and evaluated on small batches, GroupNorm has
no running statistics at all. Groups are C // 16 as in Diffusion Policy's ``replace_bn_with_gn``.

No pretrained weights (no torchvision): policies are trained from scratch on sim images, as
Diffusion Policy does for its best image results.

``ResNetImageEncoder`` = trunk + spatial softmax + linear: the per-camera encoder used by the image
variants of BC and Diffusion Policy.
"""

from __future__ import annotations

import torch
from torch import nn

from foundation.spatial_softmax import SpatialSoftmax


def group_norm(channels: int, group_size: int = 16) -> nn.GroupNorm:
    """GroupNorm with ``channels // group_size`` groups (at least 1)."""
    return nn.GroupNorm(max(1, channels // group_size), channels)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection; stride 2 (and a 1x1 shortcut) downsamples."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = group_norm(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), group_norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, Cin, H, W) -> (N, Cout, H/s, W/s)
        out = torch.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18GN(nn.Module):
    """ResNet-18 trunk (no pooling/classifier head): ``(N, C, H, W)`` float -> ``(N, 8w, H/32, W/32)``
    with all four stages (``stages`` below: fewer give fewer channels and a finer map).

    Args:
        in_channels: input channels (3 for RGB).
        width: channels of the first stage; the stages have ``width * (1, 2, 4, 8)``. 64 is the
            standard ResNet-18 (11.2M parameters); 32 costs ~4x fewer FLOPs, useful on a CPU.
        stages: how many of the four stages to keep (default all). Each stage dropped from the end
            halves the output stride and doubles the map's side: at 76x76, 4 stages give a 3x3 map,
            3 give 5x5, 2 give 10x10. A spatial softmax over a 3x3 map can barely say where a small
            object is; the finer map also costs fewer FLOPs (the dropped stages are not run).

    ``out_channels`` (= ``width * 2 ** (stages - 1)``) is the channel count of the output map. Spatial
    sizes round up at each stride-2 step: an 84x84 input gives a 3x3 map, 76x76 gives 3x3.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, stages: int = 4) -> None:
        super().__init__()
        if in_channels < 1 or width < 1:
            raise ValueError(f"in_channels={in_channels} and width={width} must be >= 1")
        if not 1 <= stages <= 4:
            raise ValueError(f"stages={stages} must be in 1..4")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
            group_norm(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        blocks = []
        channels = width
        for i, mult in enumerate((1, 2, 4, 8)[:stages]):
            out = width * mult
            stride = 1 if i == 0 else 2
            blocks.append(nn.Sequential(BasicBlock(channels, out, stride), BasicBlock(out, out)))
            channels = out
        self.stages = nn.Sequential(*blocks)
        self.out_channels = channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))  # (N, out_channels, ceil(H/s), ceil(W/s)), s = 2 ** (stages + 1)


class ResNetImageEncoder(nn.Module):
    """Images -> feature vectors: ResNet-18-GN trunk, spatial softmax, linear layer.

    Input: ``(..., H, W, C)`` channel-last images as the envs and datasets deliver them, either
    ``uint8`` in [0, 255] or floating point already in [0, 1]. Any leading dimensions (e.g.
    ``(B, To)``) are kept: output ``(..., feature_dim)``. Pixels are mapped to [-1, 1] here, so
    callers never convert images themselves. Crop/augment *before* calling (``foundation.augment``);
    the encoder accepts any H, W.

    Args:
        in_channels: C (3 for RGB).
        feature_dim: size of the output vector.
        num_keypoints: spatial-softmax keypoints K (robomimic and Diffusion Policy use 32).
        width: ResNet stage-1 width (64 = standard ResNet-18; 32 is ~4x cheaper).
        stages: ResNet stages kept (``ResNet18GN``): fewer give the spatial softmax a finer map.
    """

    def __init__(
        self,
        in_channels: int = 3,
        feature_dim: int = 64,
        num_keypoints: int = 32,
        width: int = 64,
        stages: int = 4,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.feature_dim = feature_dim
        self.backbone = ResNet18GN(in_channels, width, stages)
        self.pool = SpatialSoftmax(self.backbone.out_channels, num_keypoints)
        self.proj = nn.Linear(self.pool.out_dim, feature_dim)
        self.act = nn.ReLU()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        *lead, h, w, c = images.shape
        if c != self.in_channels:
            raise ValueError(
                f"expected channel-last images (..., H, W, {self.in_channels}), "
                f"got shape {tuple(images.shape)}"
            )
        x = images.reshape(-1, h, w, c).permute(0, 3, 1, 2)  # (N, C, H, W)
        x = x.float() / 255.0 if images.dtype == torch.uint8 else x.float()  # [0, 1]
        x = x * 2.0 - 1.0  # [-1, 1]
        keypoints = self.pool(self.backbone(x))  # (N, K, 2)
        feats = self.act(self.proj(keypoints.flatten(1)))  # (N, feature_dim)
        return feats.reshape(*lead, self.feature_dim)  # (..., feature_dim)
