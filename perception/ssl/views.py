"""Random views of a batch of frames, in torch, from a seeded generator (a resumed run draws the
same views): random resized crops (one affine resampling per image), optional flips, colour jitter
and random grey. ``(B, H, W, 3)`` uint8 in, ``(B, S, S, 3)`` float in [0, 1] out, S the view side."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from perception.ssl.config import ViewConfig


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def resized_crops(
    images: torch.Tensor, size: int, min_scale: float, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, size, size, 3) float in [0, 1]: each image's crop keeps a random
    ``min_scale`` .. 1 of its area at aspect ratio 3/4 .. 4/3, anywhere inside, resized bilinearly."""
    b = images.shape[0]
    x = images.permute(0, 3, 1, 2).float() / 255.0  # (B, 3, H, W)
    area = _uniform(b, min_scale, 1.0, generator)
    log_ratio = _uniform(b, math.log(3 / 4), math.log(4 / 3), generator)
    ratio = torch.exp(log_ratio)
    # Crop width and height as fractions of the frame's (at most the whole frame).
    w = torch.sqrt(area * ratio).clamp(max=1.0)
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1 - w) * (2 * torch.rand(b, generator=generator) - 1)  # centre in [-(1-w), 1-w] (grid units)
    cy = (1 - h) * (2 * torch.rand(b, generator=generator) - 1)
    sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(b)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, [b, 3, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1)  # (B, size, size, 3)


def colour_jitter(
    x: torch.Tensor, strength: float, grayscale: float, generator: torch.Generator
) -> torch.Tensor:
    """(B, S, S, 3) in [0, 1]: brightness, contrast and saturation scaled by U(1-s, 1+s) each, then
    grey with probability ``grayscale``."""
    b = x.shape[0]

    def factor() -> torch.Tensor:
        return _uniform(b, 1 - strength, 1 + strength, generator).view(b, 1, 1, 1)

    grey = (x * torch.tensor([0.299, 0.587, 0.114])).sum(-1, keepdim=True)  # (B, S, S, 1) luma
    x = x * factor()  # brightness
    mean = grey.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor() + mean  # contrast around the mean luma
    grey = (x * torch.tensor([0.299, 0.587, 0.114])).sum(-1, keepdim=True)
    x = (x - grey) * factor() + grey  # saturation
    to_grey = (torch.rand(b, generator=generator) < grayscale).view(b, 1, 1, 1)
    x = torch.where(to_grey, grey.expand_as(x), x)
    return x.clamp(0.0, 1.0)


def random_views(
    images: torch.Tensor, size: int, config: ViewConfig, generator: torch.Generator
) -> torch.Tensor:
    """One random view of each frame: (B, H, W, 3) uint8 -> (B, size, size, 3) float in [0, 1]."""
    crops = resized_crops(images, size, config.min_scale, config.flip, generator)
    return colour_jitter(crops, config.jitter, config.grayscale, generator)


def centre_view(images: torch.Tensor, size: int) -> torch.Tensor:
    """The deterministic view the probe and the agents see: the centre ``size`` x ``size`` window
    (the agents' centre crop), as floats in [0, 1]."""
    h, w = images.shape[1:3]
    top, left = (h - size) // 2, (w - size) // 2
    return images[:, top : top + size, left : left + size].float() / 255.0
