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


@dataclass
class DETRConfig:
    name: str = "detr"
    width: int = 16  # ResNet-18-GN stage-1 width
    dim: int = 64  # transformer width
    queries: int = 20  # object queries: at most this many detections per image
    encoder_layers: int = 2
    decoder_layers: int = 3
    heads: int = 4
    stride: int = 16  # the backbone stage the transformer reads: 16 (stage 3) or 32 (stage 4, DETR's)
    class_weight: float = 1.0  # the matching cost and loss weights (DETR's 1 / 5 / 2)
    l1_weight: float = 5.0
    giou_weight: float = 2.0
    no_object_weight: float = 0.1  # the cross-entropy weight of the "no object" class
    max_detections: int = 50

    def __post_init__(self) -> None:
        for key in ("width", "dim", "queries", "encoder_layers", "decoder_layers", "heads", "max_detections"):
            if getattr(self, key) < 1:
                raise ValueError(f"detr.{key}={getattr(self, key)} must be >= 1")
        if self.dim % self.heads or self.dim % 4:
            raise ValueError(f"detr.dim={self.dim} must divide by detr.heads={self.heads} and by 4")
        if self.stride not in (16, 32):
            raise ValueError(f"detr.stride={self.stride} must be 16 or 32")
