"""The CenterNet-style detector's config: import-light (the CLI reads it without torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CenterNetConfig:
    name: str = "centernet"
    width: int = 32  # ResNet-18-GN stage-1 width (64 = the standard ResNet-18; 32 is ~4x cheaper)
    neck_channels: int = 64
    size_weight: float = 0.1  # the paper's weights of the size and offset L1 losses
    offset_weight: float = 1.0
    min_overlap: float = 0.7  # the Gaussian radius keeps IoU >= this for a centre that far off
    max_detections: int = 50

    def __post_init__(self) -> None:
        for key in ("width", "neck_channels", "max_detections"):
            if getattr(self, key) < 1:
                raise ValueError(f"detector.{key}={getattr(self, key)} must be >= 1")
        if not 0.0 < self.min_overlap < 1.0:
            raise ValueError(f"detector.min_overlap={self.min_overlap} must be in (0, 1)")
