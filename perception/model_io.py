"""Perception model files: one self-contained ``.pt`` per model (network config, classes, image size,
weights), written atomically with a ``.sha256`` and read back with ``torch.load(weights_only=True)``,
so a model file from elsewhere cannot run code. ``load_model`` rebuilds whichever task it holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from foundation.files import save_torch, verify_checksum
from workbench.errors import UserError

MODEL_FORMAT = "workbench-perception-model"
MODEL_VERSION = 1


def save_model(model: Any, path: str | Path) -> None:
    """``model``: a perception model class (``task``, ``config``, ``class_ids``, ``class_names``,
    ``image_hw``)."""
    save_torch({
        "format": MODEL_FORMAT, "version": MODEL_VERSION, "task": model.task, "model": model.config.name,
        "config": dataclasses.asdict(model.config), "class_ids": model.class_ids,
        "class_names": model.class_names, "image_hw": list(model.image_hw), "state_dict": model.state_dict(),
    }, path)  # fmt: skip


def load_model(path: Path, task: str | None = None) -> Any:
    """The model in ``path`` (``task``: refuse any other task), in eval mode; a damaged or foreign
    file is refused in one line."""
    from perception.registry import MODELS

    if not path.is_file():
        raise UserError(f"{path}: no such model file")
    verify_checksum(path)  # a mismatch raises CorruptFileError (a ValueError: one line, exit 2)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path} is not a workbench model file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise UserError(f"{path} is not a workbench perception model file")
    if payload.get("version") != MODEL_VERSION:
        raise UserError(
            f"{path} is model format version {payload.get('version')}; this workbench reads {MODEL_VERSION}"
        )
    if task is not None and payload.get("task") != task:
        raise UserError(f"{path} is a {payload.get('task')} model, not a {task} model")
    spec = MODELS.get((str(payload.get("task")), str(payload.get("model"))))
    if spec is None:
        raise UserError(f"{path}: unknown model {payload.get('model')!r} for task {payload.get('task')!r}")
    config_cls, model_cls = spec
    model = model_cls(config_cls(**payload["config"]), payload["class_ids"], payload["class_names"],
                      tuple(payload["image_hw"]))  # fmt: skip
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model
