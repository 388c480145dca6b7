"""Spatial grounding (``agent.grounding=spatial``): find what the instruction names as points in the image,
then map the points to positions, instead of regressing positions from one pooled token.

    stage maps (N, C_i, h_i, w_i) -> upsample to the finest grid, concat -> 1x1 conv, GN, ReLU
    -> FiLM(sentence) -> 1x1 conv -> K heatmaps (N, K, h, w)
    -> spatial softmax -> K expected points (N, K, 2) in full-frame pixels (the crop's offset added back)
       and K heatmap-weighted features (N, K, F)
    -> [points, features, sentence] (N, K*2 + K*F + D): what the aux head (an MLP) maps to positions

With ``agent.spatial_targets`` the first heatmaps are also trained to peak where the named object and
its goal really are (their positions projected by the camera, ``agent.spatial_projection``):
unsupervised, the soft-argmax points stayed near the image centre after 2750 steps on 3200 demos, and
the MLP regressed from the pooled features instead.

Why (docs/vla.md, "Spatial grounding"): the token head regressed the named object's position from the
sentence token after a transformer that also reads the proprioception. In the demos the hand is at the
object most of the time (61% of frames within 2 cm), so "the object is where the hand is" fits most
frames; on a held-out scene's first frame, and in the policy's own rollouts where the hand is elsewhere,
that shortcut puts the object 10-15 cm off. Here the positions come from image points only: no
proprioception reaches them, and a heatmap is a detector of colour-and-shape the sentence selects,
which works wherever the object is (translation-equivariant convolutions), as spatial-softmax keypoints
do in Levine et al. 2016 and robomimic's image encoders.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.vla.vision import FiLM
from foundation.resnet import group_norm


class SpatialGrounding(nn.Module):
    """Stage maps, the sentence vector and crop offsets -> (N, out_dim) grounding features and the
    (N, K, h, w) heatmap logits."""

    def __init__(self, widths: list[int], cond_dim: int, keypoints: int, hidden: int = 64) -> None:
        super().__init__()
        self.mix = nn.Sequential(nn.Conv2d(sum(widths), hidden, 1, bias=False), group_norm(hidden), nn.ReLU())
        self.film = FiLM(cond_dim, hidden)
        self.heat = nn.Conv2d(hidden, keypoints, 1)
        self.log_temperature = nn.Parameter(torch.zeros(()))  # softmax sharpness, learned
        self.keypoints = keypoints
        self.out_dim = keypoints * (2 + hidden) + cond_dim

    def forward(
        self,
        maps: list[torch.Tensor],
        sentence: torch.Tensor,
        offsets: torch.Tensor,
        crop_hw: tuple[int, int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``maps`` of one frame per sample, ``sentence`` (N, D), ``offsets`` (N, 2) the crop's (top, left)
        in pixels -> (N, out_dim)."""
        h, w = maps[0].shape[-2:]
        grid = [maps[0]] + [nn.functional.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
                            for m in maps[1:]]  # fmt: skip
        feats = self.film(self.mix(torch.cat(grid, dim=1)), sentence)  # (N, F, h, w)
        logits = self.heat(feats).flatten(2) * self.log_temperature.exp()  # (N, K, h*w)
        attn = logits.softmax(-1)  # (N, K, h*w)
        # cell centres in the crop's pixels, then the frame's: where the crop sat in the image
        ys = (torch.arange(h, device=feats.device, dtype=feats.dtype) + 0.5) * (crop_hw[0] / h)
        xs = (torch.arange(w, device=feats.device, dtype=feats.dtype) + 0.5) * (crop_hw[1] / w)
        cy, cx = torch.meshgrid(ys, xs, indexing="ij")
        coords = torch.stack([cy.flatten(), cx.flatten()], dim=-1)  # (h*w, 2)
        points = attn @ coords + offsets[:, None].to(feats.dtype)  # (N, K, 2) frame pixels
        scale = torch.tensor([crop_hw[0], crop_hw[1]], device=feats.device, dtype=feats.dtype)
        points = points / scale * 2.0 - 1.0  # about [-1, 1]
        pooled = attn @ feats.flatten(2).transpose(1, 2)  # (N, K, F)
        heat = logits.view(-1, self.keypoints, h, w)  # (N, K, h, w), for heatmap_loss
        return torch.cat([points.flatten(1), pooled.flatten(1), sentence], dim=-1), heat


def project(points: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """World points (..., 3) -> (..., 2) (row, col) in the frame's pixels, pixel (0, 0) spanning [0, 1)
    (``projection`` (3, 4): world -> homogeneous (col, row) with pixel centres at integers, OpenCV's)."""
    uvw = points @ projection[:, :3].T + projection[:, 3]  # (..., 3)
    col_row = uvw[..., :2] / uvw[..., 2:].clamp(min=1e-6)
    return col_row.flip(-1) + 0.5


def resize_projection(
    projection: torch.Tensor, from_hw: tuple[int, int], to_hw: tuple[int, int]
) -> torch.Tensor:
    """The same camera's (3, 4) projection for images of ``to_hw`` instead of ``from_hw`` (pixel centres at
    integers: ``u' = (u + 0.5) * W' / W - 0.5``)."""
    out = projection.clone()
    for row, (old, new) in enumerate(zip((from_hw[1], from_hw[0]), (to_hw[1], to_hw[0]), strict=True)):
        ratio = new / old
        out[row] = ratio * projection[row] + (0.5 * ratio - 0.5) * projection[2]
    return out


def heatmap_loss(
    heat: torch.Tensor, points: torch.Tensor, crop_hw: tuple[int, int], sigma: float
) -> torch.Tensor:
    """Cross-entropy of heatmaps ``heat`` (N, K, h, w) against a Gaussian of ``sigma`` cells around where
    each supervised point really is, ``points`` (N, K, 2) (row, col) in the crop's pixels (CLIPort's and
    the Transporter's dense targets). Points outside the crop do not count."""
    h, w = heat.shape[-2:]
    scale = torch.tensor([h / crop_hw[0], w / crop_hw[1]], device=heat.device, dtype=heat.dtype)
    cell = points * scale - 0.5  # (N, K, 2) in cells, centres at integers
    ys = torch.arange(h, device=heat.device, dtype=heat.dtype)
    xs = torch.arange(w, device=heat.device, dtype=heat.dtype)
    d2 = (ys[:, None] - cell[..., 0, None, None]) ** 2 + (xs[None, :] - cell[..., 1, None, None]) ** 2
    target = (-d2 / (2 * sigma**2)).flatten(2).softmax(-1)  # (N, K, h*w)
    inside = ((cell >= -0.5) & (cell <= torch.tensor([h - 0.5, w - 0.5], device=heat.device))).all(-1)
    ce = -(target * heat.flatten(2).log_softmax(-1)).sum(-1)  # (N, K)
    return (ce * inside).sum() / inside.sum().clamp(min=1)
