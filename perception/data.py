"""One split of a perception dataset (``workbench perception collect``) in memory, for training.

Images of one camera (a dataset may hold several); boxes and labels of the *thing* categories
(movable objects) as contiguous class indices ``0..C-1`` in category-id order, which is what a
detector's head predicts; the instance masks as they are (instance id = category id, which is what a
semantic segmenter predicts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.errors import UserError
from workbench.io import load_json


@dataclass
class PerceptionSplit:
    root: Path  # OUT/<split>
    camera: str
    images: np.ndarray  # (N, H, W, 3) uint8
    seg: np.ndarray  # (N, H, W) int32 instance (= category) ids
    boxes: list[np.ndarray]  # per image (K, 4) float32 [x, y, w, h], pixels
    labels: list[np.ndarray]  # per image (K,) int64 class indices
    image_ids: list[int]  # the COCO image ids of ``images``, in order
    class_ids: list[int]  # detection: class index -> COCO category id (the thing categories)
    class_names: list[str]
    categories: list[dict[str, Any]]  # every category of the dataset (COCO's, with isthing)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, rows: np.ndarray, flips: np.ndarray, generator: torch.Generator) -> dict[str, Any]:
        """A training batch of ``rows``, those with ``flips`` mirrored left-right (boxes too): images
        (B, H, W, 3) uint8 and seg (B, H, W) int64 tensors, boxes / labels lists of arrays, and a
        seed per image (B,) for what a model samples from its batch (the promptable segmenter's
        clicks), drawn from ``generator`` so a resumed run samples the same."""
        width = self.images.shape[2]
        images, seg, boxes = self.images[rows].copy(), self.seg[rows].copy(), []
        for i, row in enumerate(rows):
            box = self.boxes[row].copy()
            if flips[i]:
                images[i], seg[i] = images[i, :, ::-1], seg[i, :, ::-1]
                box[:, 0] = width - box[:, 0] - box[:, 2]
            boxes.append(box)
        labels = [self.labels[row] for row in rows]
        seeds = torch.randint(2**31, (len(rows),), generator=generator)
        return {"images": torch.from_numpy(images), "boxes": boxes, "labels": labels,
                "seg": torch.from_numpy(seg.astype(np.int64)), "seeds": seeds}  # fmt: skip


def dataset_meta(root: Path) -> dict[str, Any]:
    path = root / "dataset.json"
    if not path.exists():
        raise UserError(f"{root} is not a perception dataset (no dataset.json); make one with "
                        "`workbench perception collect`")  # fmt: skip
    meta: dict[str, Any] = load_json(path)
    return meta


def require_split(root: Path, meta: dict[str, Any], split: str) -> None:
    if split not in meta.get("splits", {}):
        have = sorted(meta.get("splits", {}))
        raise UserError(f"{root} has no {split} split (it has {have}); collect it with "
                        f"`workbench perception collect split={split} out={root}`")  # fmt: skip


def load_split(root: Path, split: str, camera: str | None = None) -> PerceptionSplit:
    """Read ``root/<split>`` for ``camera`` (None: the dataset's first camera)."""
    import imageio.v3 as iio

    meta = dataset_meta(root)
    require_split(root, meta, split)
    camera = camera or meta["cameras"][0]
    if camera not in meta["cameras"]:
        raise UserError(f"{root} has no camera {camera!r}; its cameras: {meta['cameras']}")
    coco = load_json(root / split / "annotations.json")
    things = [c for c in coco["categories"] if c["isthing"]]
    index = {c["id"]: i for i, c in enumerate(things)}
    per_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        per_image.setdefault(ann["image_id"], []).append(ann)
    chosen = [im for im in coco["images"] if im["camera"] == camera]
    images, segs, boxes, labels = [], [], [], []
    for im in chosen:
        images.append(iio.imread(root / split / im["file_name"]))
        segs.append(iio.imread(root / split / im["seg_file"]).astype(np.int32))
        anns = [a for a in per_image.get(im["id"], []) if a["category_id"] in index]
        boxes.append(np.asarray([a["bbox"] for a in anns], np.float32).reshape(-1, 4))
        labels.append(np.asarray([index[a["category_id"]] for a in anns], np.int64))
    return PerceptionSplit(
        root=root / split, camera=camera, images=np.stack(images), seg=np.stack(segs), boxes=boxes,
        labels=labels, image_ids=[im["id"] for im in chosen], class_ids=[c["id"] for c in things],
        class_names=[c["name"] for c in things], categories=coco["categories"],
    )  # fmt: skip
