"""Checkpoints: everything needed to resume exactly, written atomically.

``checkpoints/step_<N>.pt`` with its ``step_<N>.pt.sha256`` plus ``checkpoints/latest`` (a one-line
text file naming the newest complete checkpoint). The file is written to a temporary name and
renamed, and ``latest`` is updated only after that, so a run killed mid-write resumes from the
previous checkpoint. Loading verifies the checksum; resuming falls back past a damaged ``latest`` or
checkpoint to the newest valid one, and refuses to restart from step 0 over checkpoints it cannot read.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foundation.files import (
    CorruptFileError,
    clean_stale_temp,
    remove_with_checksum,
    save_torch,
    verify_checksum,
)
from workbench.errors import UserError, one_line
from workbench.io import atomic_write_text

STEP_NAME = re.compile(r"step_\d{8}\.pt")

CHECKPOINT_FORMAT = "workbench-checkpoint"
# Bumped when the payload layout changes; files of the first wave carry no version and are layout 1.
# Version 2: Diffusion Policy's chunk starts at the first observation frame (see agents/policy_io.py);
# version-1 checkpoints of other agents load unchanged.
CHECKPOINT_VERSION = 2


def rng_state() -> dict[str, Any]:
    """Every global generator a training step draws from: torch (CPU and, where there is CUDA, each
    GPU's: dropout and ``randn_like`` on a GPU draw from the device's own generator), numpy, Python."""
    state: Any = np.random.get_state(legacy=True)
    name, keys, pos, has_gauss, cached = state
    out = {
        "torch": torch.get_rng_state(),
        # As plain types and a tensor: checkpoints load with weights_only=True (no arbitrary pickles).
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()  # one uint8 tensor per visible GPU
    return out


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    cuda = state.get("cuda")  # absent in checkpoints written without CUDA (or before it was saved)
    if cuda and torch.cuda.is_available():
        # Resumed on fewer GPUs: restore the ones there are (training uses the first).
        for device, gpu_state in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(gpu_state, device)


def save_checkpoint(run_dir: Path, step: int, payload: dict[str, Any], keep: int = 3) -> Path:
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    path = ckpt_dir / f"step_{step:08d}.pt"
    header = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step, "rng": rng_state()}
    save_torch({**header, **payload}, path)
    atomic_write_text(ckpt_dir / "latest", path.name + "\n")
    for stale in step_files(ckpt_dir)[:-keep]:
        remove_with_checksum(stale)
    return path


def step_files(ckpt_dir: Path) -> list[Path]:
    """The ``step_<N>.pt`` files of a checkpoint directory, oldest first."""
    return sorted(p for p in ckpt_dir.glob("step_*.pt") if STEP_NAME.fullmatch(p.name))


def read_latest(ckpt_dir: Path) -> Path | None:
    """The checkpoint ``ckpt_dir/latest`` names, or None when there is no ``latest``. A pointer that is
    not one ``step_<N>.pt`` name inside ``ckpt_dir`` (binary garbage, a path elsewhere) or that names a
    missing file raises :class:`CorruptFileError` naming the pointer."""
    pointer = ckpt_dir / "latest"
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_bytes().decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{pointer} is unreadable (not a checkpoint name)") from exc
    # Only a bare step_<N>.pt name: `latest` may never point outside the run's own checkpoints.
    if not STEP_NAME.fullmatch(name):
        raise CorruptFileError(f"{pointer} holds {name[:40]!r}, not a step_<N>.pt name in {ckpt_dir}")
    path = ckpt_dir / name
    if not path.is_file():
        raise CorruptFileError(f"{pointer} names {name}, which does not exist")
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    """What ``workbench eval`` scores: the checkpoint ``latest`` names (None when the run has none).
    A damaged pointer is an error naming it, not a silent choice of another checkpoint."""
    ckpt_dir = run_dir / "checkpoints"
    try:
        return read_latest(ckpt_dir)
    except CorruptFileError as exc:
        valid = step_files(ckpt_dir)
        hint = f"; pass checkpoint={valid[-1]}" if valid else ""
        raise UserError(f"{exc}{hint}") from exc


def resume_checkpoint(ckpt_dir: Path, warn: Callable[[str], None]) -> tuple[Path, dict[str, Any]] | None:
    """The checkpoint a resumed run continues from, loaded: the one ``latest`` names when it is valid,
    else the newest ``step_<N>.pt`` that loads and verifies (``warn`` says which and why). None when
    the directory holds no checkpoint at all. Checkpoints that all fail are an error: restarting
    from step 0 would overwrite them."""
    clean_stale_temp(ckpt_dir)
    candidates = step_files(ckpt_dir)
    try:
        named = read_latest(ckpt_dir)
        problem = None
    except CorruptFileError as exc:
        named, problem = None, one_line(exc)
    order = ([named] if named is not None else []) + [p for p in reversed(candidates) if p != named]
    failures = []
    for path in order:
        try:
            payload = load_checkpoint(path)
        except UserError as exc:
            failures.append(one_line(exc))
            continue
        if problem is not None or failures:
            why = problem or failures[0]
            warn(f"{why}; resuming from {path.name} (step {payload['step']}), the newest valid checkpoint")
        return path, payload
    if not order and problem is None:
        return None
    reasons = "; ".join(([problem] if problem else []) + failures)
    raise UserError(
        f"no valid checkpoint in {ckpt_dir} ({reasons}); refusing to restart from step 0 over them: "
        "move the directory away to train from scratch"
    )


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found")
    try:
        verify_checksum(path)
    except CorruptFileError as exc:
        raise UserError(one_line(exc)) from exc
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, ...: several exception types
        raise UserError(
            f"checkpoint {path} is corrupt ({type(exc).__name__}); delete it to fall back to an earlier one"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} is not a workbench checkpoint")
    version = payload.get("version", 1)
    if version != CHECKPOINT_VERSION and not (version == 1 and payload.get("agent") != "diffusion"):
        raise UserError(
            f"{path} is a checkpoint of format version {version}; this workbench reads version "
            f"{CHECKPOINT_VERSION}: resume it with the workbench version that wrote it"
        )
    return payload
