"""PointNet (Qi et al. 2017): a shared per-point MLP, a symmetric max-pool to one global feature, and
heads for a whole set (classification) or for every point (segmentation, centre votes).

The input transform nets (T-Net) are left out: the workbench's clouds are in the world frame, which
is already canonical (the table is z = 0, the robot base the origin), and the paper's own ablation
gains little from them. Points are (x, y, z, r, g, b): colour is half of what tells Tabletop's
objects apart. Conv1d with kernel 1 is the per-point MLP; GroupNorm rather than BatchNorm, so a
batch of one behaves as in training.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from foundation.resnet import group_norm


def point_mlp(widths: list[int]) -> nn.Sequential:
    """Per-point layers ``widths[0] -> ... -> widths[-1]`` (1x1 conv, GN, ReLU each)."""
    layers: list[nn.Module] = []
    for cin, cout in itertools.pairwise(widths):
        layers += [nn.Conv1d(cin, cout, 1, bias=False), group_norm(cout, 8), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class PointNetEncoder(nn.Module):
    """(B, N, 6) points -> per-point features (B, width, N) and a global feature (B, 4 width)."""

    def __init__(self, width: int, in_features: int = 6) -> None:
        super().__init__()
        self.local = point_mlp([in_features, width, width])
        self.lift = point_mlp([width, 2 * width, 4 * width])
        self.out_features = 4 * width

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        local = self.local(points.transpose(1, 2))  # (B, width, N)
        return local, self.lift(local).amax(dim=2)  # max over points: order-invariant


class PointNetClassifier(nn.Module):
    """(B, N, 6) -> (B, classes) logits."""

    def __init__(self, width: int, num_classes: int) -> None:
        super().__init__()
        self.encoder = PointNetEncoder(width)
        self.head = nn.Sequential(
            nn.Linear(self.encoder.out_features, 2 * width), nn.ReLU(inplace=True), nn.Dropout(0.2),
            nn.Linear(2 * width, num_classes),
        )  # fmt: skip

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(points)[1])


class PointNetSegmenter(nn.Module):
    """(B, N, 6) -> per-point outputs (B, N, outputs): each point's features beside the global one."""

    def __init__(self, width: int, outputs: int) -> None:
        super().__init__()
        self.encoder = PointNetEncoder(width)
        self.head = nn.Sequential(
            point_mlp([width + self.encoder.out_features, 2 * width, width]), nn.Conv1d(width, outputs, 1)
        )

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        local, global_ = self.encoder(points)
        joined = torch.cat([local, global_[:, :, None].expand(-1, -1, local.shape[2])], dim=1)
        return self.head(joined).transpose(1, 2)  # (B, N, outputs)
