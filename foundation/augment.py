"""Image augmentation for visuomotor policies: random crop in training, centre crop in evaluation.

Random crops (shifts of a few pixels) are the augmentation that matters most for image-based
imitation (robomimic; Chi et al. 2023 crop 84 -> 76; DrQ uses pad-and-crop). The policy must see
the same crop size at test time, hence the deterministic centre crop.

Images are channel-last ``(..., H, W, C)`` (uint8 or float), as envs and datasets deliver them.
"""

from __future__ import annotations

import torch


def center_crop(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(..., H, W, C)`` -> ``(..., height, width, C)``, the central window."""
    h, w = images.shape[-3], images.shape[-2]
    _check(h, w, height, width)
    top, left = (h - height) // 2, (w - width) // 2
    return images[..., top : top + height, left : left + width, :]


def random_crop(
    images: torch.Tensor,
    height: int,
    width: int,
    generator: torch.Generator | None = None,
    same_across: int = 1,
) -> torch.Tensor:
    """``(N, ..., H, W, C)`` -> ``(N, ..., height, width, C)``, one random window per leading index.

    ``same_across=k`` uses one window for all entries of the first ``k`` dims together with the
    dims after them up to the image, i.e. with ``(B, To, H, W, C)`` and ``same_across=1`` every
    frame of a sample's history gets the same crop (consistent motion between frames, as Diffusion
    Policy's ``CropRandomizer`` does per sample).
    """
    if same_across < 1 or images.dim() < 3 + same_across:
        raise ValueError(f"same_across={same_across} needs images with at least {3 + same_across} dims")
    h, w, c = images.shape[-3:]
    _check(h, w, height, width)
    lead = images.shape[:same_across]  # dims that get independent crops
    mid = images.shape[same_across:-3]  # dims that share them
    n = 1
    for d in lead:
        n *= int(d)
    x = images.reshape(n, -1, h, w, c)  # (N, M, H, W, C)
    top = torch.randint(0, h - height + 1, (n,), generator=generator).tolist()  # (N,)
    left = torch.randint(0, w - width + 1, (n,), generator=generator).tolist()  # (N,)
    # One slice per window: 4-5x faster on CPU than one advanced-indexing gather with the channel
    # axis trailing (1.8 vs 8 ms for 128 images of 64x64x3), and layout-agnostic.
    out = torch.stack(
        [x[i, :, t : t + height, l : l + width] for i, (t, l) in enumerate(zip(top, left, strict=True))]
    )
    return out.reshape(*lead, *mid, height, width, c)


def _check(h: int, w: int, height: int, width: int) -> None:
    if not (0 < height <= h and 0 < width <= w):
        raise ValueError(f"crop {height}x{width} does not fit images of {h}x{w}")
