"""The perception trainer: supervised perception models on a collected dataset, in the shared loop.

One ``train_step`` is one minibatch: items (images, clouds or object crops) drawn by the run's own
generator (seeded; checkpointed, so a resumed run draws the batches the uninterrupted one would),
mirrored at random (``flip``), the model's loss, an AdamW step. Checkpoints, metrics (metrics.jsonl
and TensorBoard), validation on the dataset's ``validation`` split with the best weights kept
(``model_best.pt``, ranked by the task's metric: mAP@0.5 for detection, mIoU for segmentation, the
position error for ``points``, accuracy for ``point_classification``) are the shared
:class:`~workbench.train.base.Trainer`'s. A batch carries every label of its kind; each model reads
what its task needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from perception.data import PerceptionSplit
from perception.detection.detector import Detector
from perception.metrics import coco_detection_map
from perception.segmentation.segmenter import Segmenter
from workbench.config import TrainerConfig
from workbench.logger import Logger
from workbench.train.base import Evaluator, Trainer


class TrainingData(Protocol):
    """A split the trainer draws from (``PerceptionSplit``, ``PointSplit``, ``CropSplit``)."""

    def __len__(self) -> int: ...

    def batch(self, rows: np.ndarray, flips: np.ndarray, generator: torch.Generator) -> dict[str, Any]: ...


class PerceptionTrainer(Trainer):
    best_file = "model_best.pt"
    resume_command = "workbench perception train resume={run_dir}"

    def __init__(
        self, model: Any, data: TrainingData, batch_size: int, lr: float, weight_decay: float,
        flip: bool, seed: int, config: TrainerConfig, run_dir: Path, logger: Logger, total_steps: int,
        evaluator: Evaluator | None = None, device: Any = "cpu",
        score_keys: tuple[str, str] = ("map50", "map"),
    ) -> None:  # fmt: skip
        super().__init__(model, config, run_dir, logger, total_steps, batch_size, evaluator)
        self.model, self.data, self.batch_size, self.flip = model, data, batch_size, flip
        self.score_keys = score_keys
        self.device = torch.device(device)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.generator = torch.Generator().manual_seed(seed)

    def batch(self) -> dict[str, Any]:
        rows = torch.randint(len(self.data), (self.batch_size,), generator=self.generator).numpy()
        flips = (torch.rand(self.batch_size, generator=self.generator).numpy() < 0.5) & self.flip
        batch = self.data.batch(rows, flips, self.generator)
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def train_step(self) -> dict[str, float]:
        loss, metrics = self.model.compute_loss(self.batch())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        metrics["grad_norm"] = float(nn.utils.clip_grad_norm_(self.model.parameters(), 10.0))
        self.optimizer.step()
        after = getattr(self.model, "after_optimizer_step", None)
        if after is not None:  # e.g. DINO's teacher follows the student
            after()
        return metrics

    def set_mode(self, training: bool) -> None:
        self.model.train(training)

    def score(self, results: dict[str, float]) -> tuple[float, float]:
        """The two ``score_keys`` (a leading ``-``: lower is better)."""
        first, second = (-results[k[1:]] if k.startswith("-") else results[k] for k in self.score_keys)
        return float(first), float(second)

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        return {"loss": means.get("loss", float("nan"))}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state()}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.generator.set_state(payload["generator"])


def _batched(
    infer: Callable[[np.ndarray], Any], inputs: np.ndarray, batch_size: int
) -> tuple[list[Any], float]:
    """``infer`` over ``inputs`` (N, ...) in batches: the outputs by batch, and the mean ms per item."""
    outputs, seconds = [], 0.0
    for start in range(0, len(inputs), batch_size):
        tic = time.perf_counter()
        outputs.append(infer(inputs[start : start + batch_size]))
        seconds += time.perf_counter() - tic
    return outputs, 1000 * seconds / max(len(inputs), 1)


def detection_scores(model: Detector, data: PerceptionSplit, batch_size: int = 16) -> dict[str, float]:
    """COCO mAP of ``model`` on ``data`` (pycocotools), and the mean wall time per frame (ms)."""
    detections: list[dict[str, Any]] = []
    model.eval()
    outputs, ms = _batched(model.detect, data.images, batch_size)
    for batch, found in enumerate(outputs):
        ids = data.image_ids[batch * batch_size : (batch + 1) * batch_size]
        for image_id, result in zip(ids, found, strict=True):
            for box, score, category in zip(
                result["boxes"], result["scores"], result["category_ids"], strict=True
            ):
                detections.append({"image_id": int(image_id), "category_id": int(category),
                                   "bbox": [float(v) for v in box], "score": float(score)})  # fmt: skip
    scores = coco_detection_map(data.root / "annotations.json", detections, data.image_ids, data.class_ids)
    return {**scores, "ms_per_frame_batched": ms}


def segmentation_scores(model: Segmenter, data: PerceptionSplit, batch_size: int = 16) -> dict[str, float]:
    """Mean IoU over every class present in the truth or the prediction (``miou``, background, table
    and robot included, as VOC counts), over the movable objects only (``miou_objects``), and pixel
    accuracy, from one confusion matrix over the split."""
    from perception.segmentation.unet import confusion, iou_per_class

    num_classes = len(model.class_ids)
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    model.eval()
    outputs, ms = _batched(model.segment, data.images, batch_size)
    for batch, pred in enumerate(outputs):
        truth = torch.from_numpy(data.seg[batch * batch_size : (batch + 1) * batch_size].astype(np.int64))
        matrix += confusion(torch.from_numpy(pred), truth.clamp_max(num_classes - 1), num_classes)
    iou = iou_per_class(matrix)
    things = [c["id"] for c in data.categories if c["isthing"] and c["id"] < num_classes]
    return {
        "miou": float(torch.nanmean(iou)),
        "miou_objects": float(torch.nanmean(iou[things])) if things else float("nan"),
        "pixel_accuracy": float(matrix.diag().sum() / matrix.sum().clamp_min(1)),
        "ms_per_frame_batched": ms,
    }


def promptable_scores(model: Any, data: PerceptionSplit, batch_size: int = 16) -> dict[str, float]:
    """A ``PromptableSegmenter`` with one click per visible movable object (at least ``min_area`` px),
    at the point farthest inside its mask: the mean IoU of the predicted and true masks
    (``mask_iou``) and the fraction above 0.5 and 0.75."""
    from perception.promptable.model import centre_click

    things, min_area = set(model.class_ids), model.config.min_area
    ious: list[float] = []
    seconds = 0.0
    model.eval()
    for start in range(0, len(data), batch_size):
        seg = data.seg[start : start + batch_size]
        truths = [
            [mask for cid in np.unique(image) if cid in things and (mask := image == cid).sum() >= min_area]
            for image in seg
        ]
        clicks = [np.array([centre_click(m) for m in masks], np.float32).reshape(-1, 2) for masks in truths]
        tic = time.perf_counter()
        found = model.segment(data.images[start : start + batch_size], clicks)
        seconds += time.perf_counter() - tic
        for masks, predicted in zip(truths, found, strict=True):
            for truth, guess in zip(masks, predicted, strict=True):
                ious.append(float((truth & guess).sum() / max((truth | guess).sum(), 1)))
    scores = np.asarray(ious)
    return {
        "mask_iou": float(scores.mean()) if len(scores) else 0.0,
        "iou_above_50": float((scores > 0.5).mean()) if len(scores) else 0.0,
        "iou_above_75": float((scores > 0.75).mean()) if len(scores) else 0.0,
        "objects": float(len(scores)),
        "ms_per_frame_batched": 1000 * seconds / max(len(data), 1),
    }


def point_scores(model: Any, data: Any, batch_size: int = 32) -> dict[str, float]:
    """An ``ObjectLocator`` on a ``PointSplit``: the mean and median distance (cm) between each seen
    object's predicted and true centre (``position_error_cm``; an object the model does not find counts
    in ``found`` only), the fraction found, and the per-point mIoU over the classes present."""
    from perception.segmentation.unet import confusion, iou_per_class

    num_classes = len(model.class_ids)
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    errors, missed = [], 0
    model.eval()
    outputs, ms = _batched(model.predict, data.points(slice(None)), batch_size)
    for batch, (classes, found) in enumerate(outputs):
        start = batch * batch_size
        truth = torch.from_numpy(data.instance[start : start + len(classes)]).clamp_max(num_classes - 1)
        matrix += confusion(torch.from_numpy(classes), truth, num_classes)
        for centres, guess in zip(data.centres[start : start + len(classes)], found, strict=True):
            for cid, centre in centres.items():
                if cid in guess:
                    errors.append(100 * float(np.linalg.norm(guess[cid] - centre)))
                else:
                    missed += 1
    total = len(errors) + missed
    return {
        "position_error_cm": float(np.mean(errors)) if errors else float("nan"),
        "position_error_median_cm": float(np.median(errors)) if errors else float("nan"),
        "found": len(errors) / max(total, 1),
        "point_miou": float(torch.nanmean(iou_per_class(matrix))),
        "ms_per_frame_batched": ms,
    }


def classification_scores(model: Any, data: Any, batch_size: int = 256) -> dict[str, float]:
    """An ``ObjectClassifier`` on a ``CropSplit`` (deterministic crops): accuracy over its objects."""
    crops = np.stack([data.crop(i, None) for i in range(len(data))])
    model.eval()
    outputs, ms = _batched(model.classify, crops, batch_size)
    predicted = np.concatenate(outputs)
    truth = np.asarray(data.class_ids)[data.labels(np.arange(len(data)))]
    return {"accuracy": float((predicted == truth).mean()), "objects": float(len(data)),
            "ms_per_object_batched": ms}  # fmt: skip


def frame_latency_ms(infer: Callable[[np.ndarray], Any], image: np.ndarray, repeats: int = 20) -> float:
    """Median wall time of ``infer`` on one frame (batch 1) on one CPU thread, after two warm-up calls."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(2):
            infer(image[None])
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            infer(image[None])
            times.append(time.perf_counter() - tic)
    finally:
        torch.set_num_threads(threads)
    return 1000 * float(np.median(times))
