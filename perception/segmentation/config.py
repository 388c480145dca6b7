"""The U-Net segmenter's config: import-light (the CLI reads it without torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class UNetConfig:
    name: str = "unet"
    width: int = 16  # channels of the first stage; stage i has width * 2**i
    depth: int = 4  # stages: the input is downsampled 2**(depth-1) times (H and W must divide by it)
    dice_weight: float = 1.0
    # 2: a stride-2 stem, the U-Net at half resolution and its logits upsampled bilinearly to the input
    # size (as DeepLab does) -- 3-4x cheaper at 224 px, where objects are ~20 px wide
    stem_stride: int = 1

    def __post_init__(self) -> None:
        if self.width < 1 or not 1 <= self.depth <= 6:
            raise ValueError(
                f"segmenter.width={self.width} must be >= 1, segmenter.depth={self.depth} in [1, 6]"
            )
        if self.stem_stride not in (1, 2):
            raise ValueError(f"segmenter.stem_stride={self.stem_stride} must be 1 or 2")
        if self.dice_weight < 0:
            raise ValueError(f"segmenter.dice_weight={self.dice_weight} must be >= 0")
