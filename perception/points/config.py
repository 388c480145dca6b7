"""The PointNet models' config: import-light (the CLI reads it without torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PointNetConfig:
    name: str = "pointnet"
    width: int = 64  # per-point feature width; the hidden layers are 2x and the global feature 4x wide
    offset_weight: float = 5.0  # task=points: weight of the centre-vote loss (metres, smooth L1) vs the CE
    min_votes: int = 3  # task=points: an object is found where at least this many points are classed as it
    crop_points: int = 64  # task=point_classification: points per object crop (resampled)
    min_crop_points: int = 8  # task=point_classification: crops with fewer visible points are left out

    def __post_init__(self) -> None:
        for key in ("width", "min_votes", "crop_points", "min_crop_points"):
            if getattr(self, key) < 1:
                raise ValueError(f"pointnet.{key}={getattr(self, key)} must be >= 1")
        if self.offset_weight < 0:
            raise ValueError(f"pointnet.offset_weight={self.offset_weight} must be >= 0")
