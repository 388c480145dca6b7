"""The semantic segmenter the perception trainer trains (``compute_loss``) and everything else uses
(``segment``); saved as one self-contained file (``perception.model_io``).

Classes are the dataset's segmentation ids (0 the background; each id its own category, see
``perception.labels``), so the target is the ``seg`` image itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from perception.base import ImageModel
from perception.model_io import load_model
from perception.segmentation.unet import UNet, UNetConfig, segmentation_loss


class Segmenter(ImageModel):
    task = "segmentation"

    def __init__(
        self, config: UNetConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__(config, class_ids, class_names, image_hw)
        if list(class_ids) != list(range(len(class_ids))):
            raise ValueError(f"segmentation classes must be the ids 0..C-1, got {class_ids}")
        step = config.stem_stride * 2 ** (config.depth - 1)
        if image_hw[0] % step or image_hw[1] % step:
            raise ValueError(
                f"segmenter.depth={config.depth} needs image sizes divisible by {step}, got {image_hw}"
            )
        self.net = UNet(config, len(class_ids))

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: images (B, H, W, 3) uint8 and seg (B, H, W) int64 tensors."""
        loss, metrics = segmentation_loss(self.net(batch["images"]), batch["seg"], self.config.dice_weight)
        return loss, {"loss": float(loss.detach()), **metrics}

    @torch.no_grad()
    def segment(self, images: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 -> (B, H, W) int64 class (= segmentation) ids."""
        self.check_images(images)
        device = next(self.parameters()).device
        return self.net(torch.as_tensor(images, device=device)).argmax(1).cpu().numpy()



def load_segmenter(path: Path) -> Segmenter:
    model: Segmenter = load_model(path, task="segmentation")
    return model
