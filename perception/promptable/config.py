"""The promptable segmenter's config: import-light (the CLI reads it without torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PromptSegConfig:
    name: str = "promptseg"
    width: int = 16  # ResNet-18-GN stage-1 width of the image encoder
    dim: int = 64  # image embedding and token width
    layers: int = 2  # two-way transformer blocks of the mask decoder
    heads: int = 4
    mlp_dim: int = 256
    prompts_per_image: int = 4  # training: objects prompted per image (the image is encoded once)
    min_area: int = 16  # px; smaller visible objects are neither prompted in training nor scored
    dice_weight: float = 1.0

    def __post_init__(self) -> None:
        for key in ("width", "dim", "layers", "heads", "mlp_dim", "prompts_per_image", "min_area"):
            if getattr(self, key) < 1:
                raise ValueError(f"promptseg.{key}={getattr(self, key)} must be >= 1")
        if self.dim % self.heads or self.dim % 8:
            raise ValueError(f"promptseg.dim={self.dim} must divide by promptseg.heads={self.heads} and by 8")
