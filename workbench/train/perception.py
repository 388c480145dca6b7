"""The perception trainer: supervised perception models on a collected dataset, in the shared loop.

One ``train_step`` is one minibatch: images drawn by the run's own generator (seeded; checkpointed,
so a resumed run draws the batches the uninterrupted one would), flipped left-right at random
(``flip``), the model's loss, an AdamW step. Checkpoints, metrics (metrics.jsonl and TensorBoard),
validation on the dataset's ``validation`` split with the best weights kept (``model_best.pt``,
ranked by the task's metric) are the shared :class:`~workbench.train.base.Trainer`'s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from perception.data import DetectionSplit
from perception.detection.detector import Detector
from perception.metrics import coco_detection_map
from workbench.config import TrainerConfig
from workbench.logger import Logger
from workbench.train.base import Evaluator, Trainer


class PerceptionTrainer(Trainer):
    best_file = "model_best.pt"

    def __init__(
        self, model: Detector, data: DetectionSplit, batch_size: int, lr: float, weight_decay: float,
        flip: bool, seed: int, config: TrainerConfig, run_dir: Path, logger: Logger, total_steps: int,
        evaluator: Evaluator | None = None, device: Any = "cpu",
    ) -> None:  # fmt: skip
        super().__init__(model, config, run_dir, logger, total_steps, batch_size, evaluator)
        self.model, self.data, self.batch_size, self.flip = model, data, batch_size, flip
        self.device = torch.device(device)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.generator = torch.Generator().manual_seed(seed)

    def batch(self) -> dict[str, Any]:
        rows = torch.randint(len(self.data), (self.batch_size,), generator=self.generator).numpy()
        flips = torch.rand(self.batch_size, generator=self.generator).numpy() < 0.5
        width = self.data.images.shape[2]
        images, boxes = self.data.images[rows].copy(), []
        for i, row in enumerate(rows):
            box = self.data.boxes[row].copy()
            if self.flip and flips[i]:
                images[i] = images[i, :, ::-1]
                box[:, 0] = width - box[:, 0] - box[:, 2]
            boxes.append(box)
        return {"images": torch.from_numpy(images).to(self.device), "boxes": boxes,
                "labels": [self.data.labels[row] for row in rows]}  # fmt: skip

    def train_step(self) -> dict[str, float]:
        loss, metrics = self.model.compute_loss(self.batch())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        metrics["grad_norm"] = float(nn.utils.clip_grad_norm_(self.model.parameters(), 10.0))
        self.optimizer.step()
        return metrics

    def set_mode(self, training: bool) -> None:
        self.model.train(training)

    def score(self, results: dict[str, float]) -> tuple[float, float]:
        return float(results["map50"]), float(results["map"])

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        return {"loss": means.get("loss", float("nan"))}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state()}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.generator.set_state(payload["generator"])


def detection_scores(model: Detector, data: DetectionSplit, batch_size: int = 16) -> dict[str, float]:
    """COCO mAP of ``model`` on ``data`` (pycocotools), and the mean wall time per frame (ms)."""
    detections: list[dict[str, Any]] = []
    model.eval()
    seconds = 0.0
    for start in range(0, len(data), batch_size):
        tic = time.perf_counter()
        found = model.detect(data.images[start : start + batch_size])
        seconds += time.perf_counter() - tic
        for image_id, result in zip(data.image_ids[start : start + batch_size], found, strict=True):
            for box, score, category in zip(
                result["boxes"], result["scores"], result["category_ids"], strict=True
            ):
                detections.append({"image_id": int(image_id), "category_id": int(category),
                                   "bbox": [float(v) for v in box], "score": float(score)})  # fmt: skip
    scores = coco_detection_map(data.root / "annotations.json", detections, data.image_ids, data.class_ids)
    return {**scores, "ms_per_frame_batched": 1000 * seconds / max(len(data), 1)}


def frame_latency_ms(model: Detector, image: np.ndarray, repeats: int = 20) -> float:
    """Median wall time of detecting one frame (batch 1) on one CPU thread, after two warm-up calls."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(2):
            model.detect(image[None])
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            model.detect(image[None])
            times.append(time.perf_counter() - tic)
    finally:
        torch.set_num_threads(threads)
    return 1000 * float(np.median(times))
