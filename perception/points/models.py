"""The point-cloud models the perception trainer trains (``compute_loss``) and everything else uses;
each saved as one self-contained file (``perception.model_io``).

- :class:`ObjectLocator` (``task=points``): per-point classes (the dataset's segmentation ids) and, for
  every point, a vote for the centre of the object it belongs to (VoteNet's idea on a PointNet). An
  object's position is the median of its points' votes, so a cube half hidden by the gripper is
  still placed at its centre, not at the centroid of the faces the camera sees.
- :class:`ObjectClassifier` (``task=point_classification``): one object's points (a crop by instance
  id), centred on their mean and resampled to ``crop_points``, -> its category.

Points are the env's ``points`` observation: (N, 6) world xyz in metres and rgb in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception.model_io import load_model, save_model
from perception.points.config import PointNetConfig
from perception.points.pointnet import PointNetClassifier, PointNetSegmenter

# The robot-centred world frame every task shares: the workspace is ~30 cm around this point, so
# (xyz - CENTRE) / SCALE is order one. Votes are predicted in units of VOTE_UNIT metres.
CENTRE, SCALE, VOTE_UNIT = (0.5, 0.0, 0.1), 0.25, 0.1


def normalise(points: torch.Tensor) -> torch.Tensor:
    """(..., 6) world points -> network input: xyz centred and scaled, rgb in [-1, 1]."""
    centre = torch.as_tensor(CENTRE, dtype=points.dtype, device=points.device)
    return torch.cat([(points[..., :3] - centre) / SCALE, points[..., 3:] * 2 - 1], dim=-1)


class ObjectLocator(nn.Module):
    task = "points"

    def __init__(
        self, config: PointNetConfig, class_ids: list[int], class_names: list[str], thing_ids: list[int],
        sensor: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if list(class_ids) != list(range(len(class_ids))):
            raise ValueError(f"point classes must be the ids 0..C-1, got {class_ids}")
        self.config, self.class_ids, self.class_names = config, list(class_ids), list(class_names)
        self.thing_ids = [int(i) for i in thing_ids]
        # The clouds it was trained on: env_id, cameras, width, height, num_points (what an env must
        # render for ``env.perception=`` to feed it the same kind of cloud).
        self.sensor = dict(sensor or {})
        self.net = PointNetSegmenter(config.width, len(class_ids) + 3)

    def init_args(self) -> dict[str, Any]:
        return {"class_ids": self.class_ids, "class_names": self.class_names, "thing_ids": self.thing_ids,
                "sensor": self.sensor}  # fmt: skip

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, 6) -> class logits (B, N, C) and centre votes (B, N, 3), world metres."""
        out = self.net(normalise(points))
        return out[..., :-3], points[..., :3] + VOTE_UNIT * out[..., -3:]

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: points (B, N, 6), seg (B, N) int64, centres (B, N, 3) of each point's object and
        voting (B, N) bool (the points on a movable object)."""
        logits, votes = self(batch["points"])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["seg"].reshape(-1))
        voting = batch["voting"]
        error = (votes[voting] - batch["centres"][voting]) / VOTE_UNIT  # (V, 3)
        vote = F.smooth_l1_loss(error, torch.zeros_like(error), beta=0.1) if len(error) else ce * 0
        loss = ce + self.config.offset_weight * vote
        vote_cm = 100 * float(error.detach().norm(dim=-1).mean()) * VOTE_UNIT if len(error) else float("nan")
        return loss, {"loss": float(loss.detach()), "ce_loss": float(ce.detach()),
                      "vote_loss": float(vote.detach()), "vote_error_cm": vote_cm}  # fmt: skip

    @torch.no_grad()
    def predict(self, points: np.ndarray) -> tuple[np.ndarray, list[dict[int, np.ndarray]]]:
        """(B, N, 6) -> per-point class ids (B, N), and per cloud {category id: (3,) centre} of every
        movable object with at least ``min_votes`` points classed as it (the median of their votes)."""
        device = next(self.parameters()).device
        logits, votes = self(torch.as_tensor(points, dtype=torch.float32, device=device))
        classes, votes_np = logits.argmax(-1).cpu().numpy(), votes.cpu().numpy()
        found = []
        for cloud_classes, cloud_votes in zip(classes, votes_np, strict=True):
            centres = {}
            for cid in self.thing_ids:
                mine = cloud_classes == cid
                if mine.sum() >= self.config.min_votes:
                    centres[cid] = np.median(cloud_votes[mine], axis=0).astype(np.float32)
            found.append(centres)
        return classes, found

    def locate(self, points: np.ndarray) -> list[dict[int, np.ndarray]]:
        """(B, N, 6) -> per cloud {category id: (3,) world centre} (see ``predict``)."""
        return self.predict(points)[1]

    def save(self, path: str | Path) -> None:
        save_model(self, path)


def object_crop(xyz: np.ndarray, rgb: np.ndarray, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """One object's points (K, 3) world m and (K, 3) uint8 -> (size, 6) classifier input: xyz minus
    their mean, rgb in [0, 1]; ``size`` rows drawn with ``rng`` (None: evenly spaced, deterministic),
    repeated when K < size."""
    from envs.scene_spec import fuse_index

    if rng is None:
        index = fuse_index(len(xyz), size)
    else:
        index = rng.choice(len(xyz), size=size, replace=len(xyz) < size)
    out = np.empty((size, 6), dtype=np.float32)
    out[:, :3] = xyz[index] - xyz.mean(axis=0)
    out[:, 3:] = rgb[index] / 255.0
    return out


class ObjectClassifier(nn.Module):
    task = "point_classification"

    def __init__(self, config: PointNetConfig, class_ids: list[int], class_names: list[str]) -> None:
        super().__init__()
        self.config, self.class_ids, self.class_names = config, list(class_ids), list(class_names)
        self.net = PointNetClassifier(config.width, len(class_ids))

    def init_args(self) -> dict[str, Any]:
        return {"class_ids": self.class_ids, "class_names": self.class_names}

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, M, 6) ``object_crop`` rows -> (B, classes) logits. The crop is centred, so xyz is only
        scaled (an object is ~4 cm across)."""
        return self.net(torch.cat([crops[..., :3] / 0.03, crops[..., 3:] * 2 - 1], dim=-1))

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: crops (B, M, 6), labels (B,) int64 class indices."""
        logits = self(batch["crops"])
        loss = F.cross_entropy(logits, batch["labels"])
        accuracy = float((logits.argmax(-1) == batch["labels"]).float().mean())
        return loss, {"loss": float(loss.detach()), "accuracy": accuracy}

    @torch.no_grad()
    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(B, M, 6) ``object_crop`` rows -> (B,) category ids."""
        device = next(self.parameters()).device
        logits = self(torch.as_tensor(crops, dtype=torch.float32, device=device))
        return np.asarray(self.class_ids)[logits.argmax(-1).cpu().numpy()]

    def save(self, path: str | Path) -> None:
        save_model(self, path)


def load_locator(path: Path) -> ObjectLocator:
    model: ObjectLocator = load_model(path, task="points")
    return model


def load_point_classifier(path: Path) -> ObjectClassifier:
    model: ObjectClassifier = load_model(path, task="point_classification")
    return model
