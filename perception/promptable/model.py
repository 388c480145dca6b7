"""Promptable segmentation in the style of SAM (Kirillov et al. 2023), trained from scratch on the
simulator's masks: given an image and a click, the mask of the object under the click.

- **Image encoder**: ``perception.backbone``'s stride-4 map (ResNet-18-GN + FPN neck) projected to
  ``dim`` -- a CNN rather than SAM's ViT-H, which on this CPU would not train in 30 minutes; the
  image is encoded once and shared by all its prompts.
- **Prompt encoder**: a click as random Fourier features of its normalised position (SAM's
  ``PositionEmbeddingRandom``) plus a learned "foreground point" embedding; the same Fourier
  features give every image cell its positional encoding.
- **Mask decoder**: SAM's two-way transformer -- tokens (a learned mask token and the click)
  self-attend, attend to the image, and the image attends back to them -- on the embedding pooled to
  stride 8 (784 cells at 224 px: the attention over every cell, per prompt, is the decoder's cost);
  then the map is upsampled 2x by a transposed convolution, joined with the stride-4 embedding (a
  skip that restores the edges), and the mask logits are its dot product with the mask token
  (through an MLP), upsampled bilinearly to the input size.

Training draws, per image, up to ``prompts_per_image`` visible objects and one click uniformly inside
each mask (SAM's first-click sampling); the loss is BCE + Dice at half the input size (the logits are
smooth at that scale; scoring uses the full-size masks).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foundation.resnet import group_norm
from perception.backbone import STRIDE, Stride4Features
from perception.base import ImageModel
from perception.model_io import load_model
from perception.promptable.config import PromptSegConfig


class FourierPositions(nn.Module):
    """(..., 2) positions in [0, 1] -> (..., dim) [sin, cos] of a fixed random Gaussian projection."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gaussian: torch.Tensor
        self.register_buffer("gaussian", torch.randn(2, dim // 2))

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        projected = 2 * math.pi * (2 * xy - 1) @ self.gaussian
        return torch.cat([projected.sin(), projected.cos()], dim=-1)


class TwoWayBlock(nn.Module):
    """Tokens self-attend, attend to the image, an MLP; then the image attends to the tokens."""

    def __init__(self, dim: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.token_to_image = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.image_to_token = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))

    def forward(
        self, tokens: torch.Tensor, image: torch.Tensor, token_pe: torch.Tensor, image_pe: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (P, T, D), image (P, h*w, D), their positional encodings alike."""
        q = tokens + token_pe
        tokens = self.norms[0](tokens + self.self_attn(q, q, tokens, need_weights=False)[0])
        q, k = tokens + token_pe, image + image_pe
        tokens = self.norms[1](tokens + self.token_to_image(q, k, image, need_weights=False)[0])
        tokens = self.norms[2](tokens + self.mlp(tokens))
        q, k = tokens + token_pe, image + image_pe
        image = self.norms[3](image + self.image_to_token(k, q, tokens, need_weights=False)[0])
        return tokens, image


class PromptSegNet(Stride4Features):
    def __init__(self, config: PromptSegConfig) -> None:
        super().__init__(config.width, config.dim)
        d = config.dim
        self.positions = FourierPositions(d)
        self.point_embed = nn.Parameter(torch.randn(d) * 0.02)
        self.mask_token = nn.Parameter(torch.randn(d) * 0.02)
        self.blocks = nn.ModuleList(
            TwoWayBlock(d, config.heads, config.mlp_dim) for _ in range(config.layers)
        )
        self.upscale = nn.Sequential(nn.ConvTranspose2d(d, d // 4, 2, stride=2), group_norm(d // 4, 2))
        self.skip = nn.Conv2d(d, d // 4, 1)
        self.token_mlp = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True), nn.Linear(d, d // 4))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> image embedding (B, dim, H/4, W/4)."""
        return self.features(images)

    def decode(self, embedding: torch.Tensor, owner: torch.Tensor, clicks: torch.Tensor) -> torch.Tensor:
        """Mask logits (P, H/4, W/4) for P prompts: ``clicks`` (P, 2) pixel (x, y) on images ``owner``
        (P,) of ``embedding`` (B, dim, H/4, W/4)."""
        _, d, h4, w4 = embedding.shape
        coarse = F.avg_pool2d(embedding, 2)  # (B, D, h, w) at stride 8
        h, w = coarse.shape[-2:]
        size = torch.tensor([w4 * STRIDE, h4 * STRIDE], dtype=clicks.dtype, device=clicks.device)
        ys, xs = torch.meshgrid(torch.arange(h, device=clicks.device), torch.arange(w, device=clicks.device),
                                indexing="ij")  # fmt: skip
        grid = torch.stack([(xs + 0.5) / w, (ys + 0.5) / h], dim=-1).reshape(1, h * w, 2).float()
        image_pe = self.positions(grid)  # (1, h*w, D)
        image = coarse[owner].flatten(2).transpose(1, 2)  # (P, h*w, D)
        point = self.positions((clicks + 0.5) / size) + self.point_embed  # (P, D)
        tokens = torch.stack([self.mask_token.expand_as(point), point], dim=1)  # (P, 2, D)
        token_pe = tokens
        for block in self.blocks:
            tokens, image = block(tokens, image, token_pe, image_pe)
        up = self.upscale(image.transpose(1, 2).reshape(-1, d, h, w))  # (P, D/4, h4, w4)
        fine = F.gelu(up + self.skip(embedding)[owner])
        return torch.einsum("pchw,pc->phw", fine, self.token_mlp(tokens[:, 0]))  # (P, h4, w4)


def sample_prompts(
    seg: np.ndarray, thing_ids: list[int], per_image: int, min_area: int, seeds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training prompts from seg images (B, H, W): per image up to ``per_image`` visible things and a
    click uniformly inside each (a generator per image from ``seeds``). Returns owner (P,), clicks
    (P, 2) float (x, y) px and the prompted ids (P,)."""
    owner, clicks, ids = [], [], []
    for i, image in enumerate(seg):
        rng = np.random.default_rng(int(seeds[i]))
        present, counts = np.unique(image, return_counts=True)
        candidates = [
            int(c) for c, n in zip(present, counts, strict=True) if c in thing_ids and n >= min_area
        ]
        for cid in rng.permutation(candidates)[:per_image] if candidates else []:
            rows, cols = np.nonzero(image == cid)
            k = rng.integers(len(rows))
            owner.append(i)
            clicks.append((cols[k], rows[k]))
            ids.append(int(cid))
    return (
        np.asarray(owner, np.int64),
        np.asarray(clicks, np.float32).reshape(-1, 2),
        np.asarray(ids, np.int64),
    )


def centre_click(mask: np.ndarray) -> tuple[int, int]:
    """The pixel (x, y) of ``mask`` farthest from its boundary (of those, the nearest to the mask's
    centroid): the evaluation's one click per object, the interactive-segmentation protocol's first."""
    from scipy.ndimage import distance_transform_edt

    distance = distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    rows, cols = np.nonzero(distance == distance.max())
    centre_row, centre_col = (axis.mean() for axis in np.nonzero(mask))
    best = int(np.argmin((rows - centre_row) ** 2 + (cols - centre_col) ** 2))
    return int(cols[best]), int(rows[best])


class PromptableSegmenter(ImageModel):
    task = "promptable"

    def __init__(
        self, config: PromptSegConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__(config, class_ids, class_names, image_hw)
        step = 2**5  # the backbone's stride-32 stage and the neck's upsampling need sizes divisible by it
        if image_hw[0] % step or image_hw[1] % step:
            raise ValueError(
                f"the promptable segmenter needs image sizes divisible by {step}, got {image_hw}"
            )
        self.net = PromptSegNet(config)

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: images (B, H, W, 3) uint8, seg (B, H, W) int64, seeds (B,) int64."""
        seg = batch["seg"]
        owner, clicks, ids = sample_prompts(seg.cpu().numpy(), self.class_ids, self.config.prompts_per_image,
                                            self.config.min_area, batch["seeds"].cpu().numpy())  # fmt: skip
        if not len(owner):
            zero = self.net.mask_token.sum() * 0.0  # no object to prompt in this batch: no update
            return zero, {"loss": 0.0, "bce_loss": 0.0, "dice_loss": 0.0}
        device = seg.device
        owner_t, ids_t = torch.from_numpy(owner).to(device), torch.from_numpy(ids).to(device)
        embedding = self.net.encode(batch["images"])
        coarse = self.net.decode(embedding, owner_t, torch.from_numpy(clicks).to(device))  # (P, H/4, W/4)
        logits = F.interpolate(coarse[:, None], scale_factor=2.0, mode="bilinear")[:, 0]  # (P, H/2, W/2)
        target = (seg[owner_t, ::2, ::2] == ids_t[:, None, None]).float()
        bce = F.binary_cross_entropy_with_logits(logits, target)
        probs = torch.sigmoid(logits)
        dice = (
            1 - ((2 * (probs * target).sum((1, 2)) + 1) / (probs.sum((1, 2)) + target.sum((1, 2)) + 1)).mean()
        )
        loss = bce + self.config.dice_weight * dice
        return loss, {"loss": float(loss.detach()), "bce_loss": float(bce.detach()),
                      "dice_loss": float(dice.detach()), "prompts": float(len(owner))}  # fmt: skip

    @torch.no_grad()
    def segment(self, images: np.ndarray, clicks: list[np.ndarray]) -> list[np.ndarray]:
        """(B, H, W, 3) uint8 and per image (K, 2) clicks (x, y) px -> per image (K, H, W) bool masks."""
        self.check_images(images)
        device = next(self.parameters()).device
        owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(clicks)]).astype(np.int64)
        flat = np.concatenate([np.asarray(c, np.float32).reshape(-1, 2) for c in clicks])
        if not len(owner):
            return [np.zeros((0, *self.image_hw), bool) for _ in clicks]
        embedding = self.net.encode(torch.as_tensor(images, device=device))
        owner_t, flat_t = torch.from_numpy(owner).to(device), torch.from_numpy(flat).to(device)
        coarse = self.net.decode(embedding, owner_t, flat_t)
        logits = F.interpolate(coarse[:, None], size=self.image_hw, mode="bilinear")[:, 0]
        masks = (logits > 0).cpu().numpy()
        return [masks[owner == i] for i in range(len(clicks))]


def load_promptable(path: Path) -> PromptableSegmenter:
    model: PromptableSegmenter = load_model(path, task="promptable")
    return model
