"""Point-cloud splits of a perception dataset (``workbench perception collect``), for training.

Every frame's ``points/NNNNNN.npz`` (the env's ``points`` observation with each point's instance id)
and the world centre of every movable object some camera saw (the annotations' ``pose_world``).
:class:`PointSplit` serves whole clouds (``task=points``); :class:`CropSplit` one object's points per
item (``task=point_classification``). Both make training batches with ``batch(rows, flips,
generator)`` as :class:`perception.data.PerceptionSplit` does; ``flip`` mirrors the scene in world y
(the tasks' layouts and the robot are symmetric about the x-z plane).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from perception.data import dataset_meta, require_split
from perception.points.models import object_crop
from workbench.io import load_json


@dataclass
class PointSplit:
    root: Path  # OUT/<split>
    xyz: np.ndarray  # (F, N, 3) float32 world m
    rgb: np.ndarray  # (F, N, 3) uint8
    instance: np.ndarray  # (F, N) int64 segmentation (= category) ids
    centres: list[dict[int, np.ndarray]]  # per frame {category id: (3,) world centre} of seen movable objects
    categories: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.xyz)

    @property
    def thing_ids(self) -> list[int]:
        return [c["id"] for c in self.categories if c["isthing"]]

    def points(self, rows: Any) -> np.ndarray:
        """(B, N, 6) float32 clouds as the env's ``points`` observation: xyz and rgb in [0, 1]."""
        return np.concatenate([self.xyz[rows], self.rgb[rows] / np.float32(255.0)], axis=-1)

    def batch(self, rows: np.ndarray, flips: np.ndarray, generator: torch.Generator) -> dict[str, Any]:
        points = self.points(rows)
        seg = self.instance[rows]
        centres = np.zeros_like(points[..., :3])
        voting = np.zeros(seg.shape, dtype=bool)
        for i, row in enumerate(rows):
            for cid, centre in self.centres[row].items():
                mine = seg[i] == cid
                centres[i, mine], voting[i, mine] = centre, True
        sign = np.where(flips, -1.0, 1.0).astype(np.float32)[:, None]
        points[..., 1] *= sign
        centres[..., 1] *= sign
        return {"points": torch.from_numpy(points), "seg": torch.from_numpy(seg),
                "centres": torch.from_numpy(centres), "voting": torch.from_numpy(voting)}  # fmt: skip


def load_point_split(root: Path, split: str) -> PointSplit:
    meta = dataset_meta(root)
    require_split(root, meta, split)
    coco = load_json(root / split / "annotations.json")
    frame_of = {im["id"]: im["frame"] for im in coco["images"]}
    frames = sorted(set(frame_of.values()))
    things = {c["id"] for c in coco["categories"] if c["isthing"]}
    centres: dict[int, dict[int, np.ndarray]] = {f: {} for f in frames}
    for ann in coco["annotations"]:
        if "pose_world" in ann and ann["category_id"] in things:  # markers have poses too: not located
            centres[frame_of[ann["image_id"]]][ann["category_id"]] = np.asarray(
                ann["pose_world"][:3], np.float32
            )
    xyz, rgb, instance = [], [], []
    for frame in frames:
        with np.load(root / split / "points" / f"{frame:06d}.npz") as cloud:
            xyz.append(cloud["xyz"])
            rgb.append(cloud["rgb"])
            instance.append(cloud["instance"].astype(np.int64))
    return PointSplit(root=root / split, xyz=np.stack(xyz), rgb=np.stack(rgb), instance=np.stack(instance),
                      centres=[centres[f] for f in frames], categories=coco["categories"])  # fmt: skip


@dataclass
class CropSplit:
    """One item per (frame, movable object with at least ``min_points`` points in the frame's cloud)."""

    clouds: PointSplit
    items: list[tuple[int, int]]  # (frame row, category id)
    class_ids: list[int]  # class index -> category id (the movable objects)
    class_names: list[str]
    crop_points: int

    def __len__(self) -> int:
        return len(self.items)

    def crop(self, item: int, rng: np.random.Generator | None) -> np.ndarray:
        row, cid = self.items[item]
        mine = self.clouds.instance[row] == cid
        return object_crop(self.clouds.xyz[row][mine], self.clouds.rgb[row][mine], self.crop_points, rng)

    def labels(self, items: Any) -> np.ndarray:
        index = {cid: i for i, cid in enumerate(self.class_ids)}
        return np.asarray([index[self.items[i][1]] for i in np.atleast_1d(items)], np.int64)

    def batch(self, rows: np.ndarray, flips: np.ndarray, generator: torch.Generator) -> dict[str, Any]:
        rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
        crops = np.stack([self.crop(int(row), rng) for row in rows])
        crops[flips, :, 1] *= -1
        return {"crops": torch.from_numpy(crops), "labels": torch.from_numpy(self.labels(rows))}


def crop_split(clouds: PointSplit, crop_points: int, min_points: int) -> CropSplit:
    things = [c for c in clouds.categories if c["isthing"]]
    ids = {c["id"] for c in things}
    items = []
    for row in range(len(clouds)):
        present, counts = np.unique(clouds.instance[row], return_counts=True)
        items += [(row, int(c)) for c, n in zip(present, counts, strict=True) if c in ids and n >= min_points]
    return CropSplit(clouds, items, [c["id"] for c in things], [c["name"] for c in things], crop_points)
