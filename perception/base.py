"""What every image model of ``perception/`` shares: its config, classes and image size, the
constructor arguments its model file records, saving, and refusing frames of another size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from perception.model_io import save_model


class ImageModel(nn.Module):
    task = ""

    def __init__(
        self, config: Any, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__()
        self.config, self.class_ids, self.class_names = config, list(class_ids), list(class_names)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))

    def init_args(self) -> dict[str, Any]:
        return {"class_ids": self.class_ids, "class_names": self.class_names, "image_hw": list(self.image_hw)}

    def check_images(self, images: np.ndarray) -> None:
        if images.shape[1:3] != self.image_hw:
            raise ValueError(
                f"the {self.task} model was trained on {self.image_hw} images, got {images.shape[1:3]}"
            )

    def save(self, path: str | Path) -> None:
        save_model(self, path)
