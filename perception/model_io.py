"""Perception model files: one self-contained ``.pt`` per model (network config, the constructor's
other arguments -- classes, image size, ... -- and weights), written atomically with a ``.sha256``
and read back with ``torch.load(weights_only=True)``, so a model file from elsewhere cannot run
code. ``load_model`` rebuilds whichever task it holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from foundation.files import save_torch, verify_checksum
from workbench.errors import UserError

MODEL_FORMAT = "workbench-perception-model"
MODEL_VERSION = 1


# Files written before ``init_keys`` was recorded hold these constructor arguments.
LEGACY_INIT_KEYS = ["class_ids", "class_names", "image_hw"]


def save_model(model: Any, path: str | Path) -> None:
    """``model``: a perception model class (``task``, ``config`` and ``init_args()``: the constructor's
    other arguments, plain values) -- rebuilt as ``cls(config, **init_args)``."""
    args = model.init_args()
    save_torch({
        "format": MODEL_FORMAT, "version": MODEL_VERSION, "task": model.task, "model": model.config.name,
        "config": dataclasses.asdict(model.config), **args, "init_keys": list(args),
        "state_dict": model.state_dict(),
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
    args = {key: payload[key] for key in payload.get("init_keys", LEGACY_INIT_KEYS)}
    model = model_cls(config_cls(**payload["config"]), **args)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model
