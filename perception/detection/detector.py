"""A trained detector as one self-contained file: network, its config, the classes and the image size.

``Detector`` is what the perception trainer trains (``compute_loss``) and what everything else uses
(``detect``); ``load_detector`` rebuilds it from ``model.pt`` with ``torch.load(weights_only=True)``,
so a model file from elsewhere cannot run code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from foundation.files import save_torch, verify_checksum
from perception.detection.centernet import CenterNet, CenterNetConfig, centernet_loss, decode, make_targets
from workbench.errors import UserError

MODEL_FORMAT = "workbench-perception-model"
MODEL_VERSION = 1


class Detector(nn.Module):
    task = "detection"

    def __init__(
        self, config: CenterNetConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__()
        self.config, self.class_ids, self.class_names = config, list(class_ids), list(class_names)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.net = CenterNet(config, len(class_ids))

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: images (B, H, W, 3) uint8 tensor, boxes / labels lists of (K, 4) / (K,) arrays."""
        out = self.net(batch["images"])
        targets = make_targets(batch["boxes"], batch["labels"], len(self.class_ids), out["heat"].shape[-2:],
                               self.config.min_overlap)  # fmt: skip
        targets = {k: v.to(out["heat"].device) for k, v in targets.items()}
        loss, metrics = centernet_loss(out, targets, self.config)
        return loss, {"loss": float(loss.detach()), **metrics}

    @torch.no_grad()
    def detect(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        """(B, H, W, 3) uint8 -> per image ``boxes`` (k, 4) [x, y, w, h] px, ``scores`` (k,) and
        ``category_ids`` (k,) (the dataset's COCO ids), best first."""
        if images.shape[1:3] != self.image_hw:
            raise ValueError(f"the detector was trained on {self.image_hw} images, got {images.shape[1:3]}")
        device = next(self.parameters()).device
        out = {k: v.cpu() for k, v in self.net(torch.as_tensor(images, device=device)).items()}
        ids = np.asarray(self.class_ids)
        return [{"boxes": boxes, "scores": scores, "category_ids": ids[classes]}
                for boxes, scores, classes in decode(out, self.config.max_detections)]  # fmt: skip

    def save(self, path: str | Path) -> None:
        save_torch({
            "format": MODEL_FORMAT, "version": MODEL_VERSION, "task": self.task, "model": self.config.name,
            "config": dataclasses.asdict(self.config), "class_ids": self.class_ids,
            "class_names": self.class_names, "image_hw": list(self.image_hw), "state_dict": self.state_dict(),
        }, path)  # fmt: skip


def load_detector(path: Path) -> Detector:
    """A ``model.pt`` written by ``Detector.save``; a damaged or foreign file is refused in one line."""
    if not path.is_file():
        raise UserError(f"{path}: no such model file")
    verify_checksum(path)  # a mismatch raises CorruptFileError (a ValueError: one line, exit 2)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path} is not a workbench model file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise UserError(f"{path} is not a workbench perception model file")
    if payload.get("task") != "detection":
        raise UserError(f"{path} is a {payload.get('task')} model, not a detector")
    if payload.get("version") != MODEL_VERSION:
        raise UserError(
            f"{path} is model format version {payload.get('version')}; this workbench reads {MODEL_VERSION}"
        )
    detector = Detector(CenterNetConfig(**payload["config"]), payload["class_ids"], payload["class_names"],
                        tuple(payload["image_hw"]))  # fmt: skip
    detector.load_state_dict(payload["state_dict"])
    detector.eval()
    return detector
