"""The linear probe: how well frozen features tell where an object is.

Features of held-out frames (an encoder's centre view) -> the object's world position (x, y, z) by
ridge regression on standardised features, the ridge strength chosen on the validation split; the
score is the mean position error in cm on the split it is scored on. A randomly initialised encoder
of the same architecture is the baseline every pretrained one must beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import UserError
from workbench.io import load_json

LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


@dataclass
class ProbeTargets:
    """The frames of one split (camera) where the probed object is visible, and its positions."""

    images: np.ndarray  # (N, H, W, 3) uint8
    positions: np.ndarray  # (N, 3) metres, world frame
    object_name: str


def probe_targets(split_data: object, object_name: str | None) -> ProbeTargets:
    """From a ``PerceptionSplit``: the frames whose annotations place ``object_name`` (None: the first
    movable category that has a pose), with its world position."""
    root: Path = split_data.root  # type: ignore[attr-defined]
    coco = load_json(root / "annotations.json")
    names = {c["id"]: c["name"] for c in coco["categories"] if c.get("isthing")}
    posed = [a for a in coco["annotations"] if "pose_world" in a and a["category_id"] in names]
    if not posed:
        raise UserError(f"{root}: no annotation holds an object pose to probe")
    if object_name is None:
        object_name = names[min(a["category_id"] for a in posed)]
    elif object_name not in names.values():
        raise UserError(f"probe_object={object_name!r} is not a movable object of {root}; "
                        f"its objects: {sorted(set(names.values()))}")  # fmt: skip
    where = {a["image_id"]: a["pose_world"][:3] for a in posed if names[a["category_id"]] == object_name}
    ids = split_data.image_ids  # type: ignore[attr-defined]
    rows = [i for i, image_id in enumerate(ids) if image_id in where]
    if len(rows) < 2:
        raise UserError(f"{root}: {object_name} is visible in {len(rows)} frames; the probe needs more")
    positions = np.asarray([where[ids[i]] for i in rows], np.float64)
    return ProbeTargets(split_data.images[rows], positions, object_name)  # type: ignore[attr-defined]


def fit_ridge(
    x: np.ndarray, y: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression on standardised features: returns (mean, std, weights (F, D), bias (D,))."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / std
    bias = y.mean(0)
    weights = np.linalg.solve(z.T @ z + lam * len(z) * np.eye(z.shape[1]), z.T @ (y - bias))
    return mean, std, weights, bias


def predict(model: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    mean, std, weights, bias = model
    return ((x - mean) / std) @ weights + bias


def error_cm(pred: np.ndarray, truth: np.ndarray) -> float:
    return 100.0 * float(np.linalg.norm(pred - truth, axis=1).mean())


def linear_probe(
    train: tuple[np.ndarray, np.ndarray], choose: tuple[np.ndarray, np.ndarray],
    score: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:  # fmt: skip
    """Fit on ``train`` (features, positions) for every ridge strength, choose it on ``choose``, report
    the chosen strength's error (cm) on ``choose`` and, if given, once on ``score``."""
    fits = {lam: fit_ridge(*train, lam) for lam in LAMBDAS}
    errors = {lam: error_cm(predict(fit, choose[0]), choose[1]) for lam, fit in fits.items()}
    best = min(errors, key=lambda lam: errors[lam])
    out = {"probe_error_cm": errors[best], "probe_lambda": best}
    if score is not None:
        out = {"probe_error_cm": error_cm(predict(fits[best], score[0]), score[1]), "probe_lambda": best,
               "probe_validation_error_cm": errors[best]}  # fmt: skip
    return out
