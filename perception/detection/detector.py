"""The detector the perception trainer trains (``compute_loss``) and everything else uses (``detect``);
saved as one self-contained file (``perception.model_io``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from perception.base import ImageModel
from perception.detection.centernet import CenterNet, CenterNetConfig, centernet_loss, decode, make_targets
from perception.model_io import load_model


class Detector(ImageModel):
    task = "detection"

    def __init__(
        self, config: CenterNetConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__(config, class_ids, class_names, image_hw)
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
        self.check_images(images)
        device = next(self.parameters()).device
        out = {k: v.cpu() for k, v in self.net(torch.as_tensor(images, device=device)).items()}
        ids = np.asarray(self.class_ids)
        return [{"boxes": boxes, "scores": scores, "category_ids": ids[classes]}
                for boxes, scores, classes in decode(out, self.config.max_detections)]  # fmt: skip



def load_detector(path: Path) -> Detector:
    """A ``model.pt`` holding a detector (``perception.model_io``)."""
    model: Detector = load_model(path, task="detection")
    return model
