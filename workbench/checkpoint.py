"""Checkpoints: everything needed to resume exactly, written atomically.

``checkpoints/step_<N>.pt`` plus ``checkpoints/latest`` (a one-line text file naming the newest
complete checkpoint). The file is written to a temporary name and renamed, and ``latest`` is
updated only after that, so a run killed mid-write resumes from the previous checkpoint.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.errors import UserError
from workbench.io import atomic_path, atomic_write_text

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
    with atomic_path(path) as tmp:
        header = {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step, "rng": rng_state()
        }
        torch.save({**header, **payload}, tmp)
    atomic_write_text(ckpt_dir / "latest", path.name + "\n")
    old = sorted(ckpt_dir.glob("step_*.pt"))[:-keep]
    for stale in old:
        stale.unlink()
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = run_dir / "checkpoints" / "latest"
    if not pointer.is_file():
        return None
    path = run_dir / "checkpoints" / pointer.read_text().strip()
    return path if path.is_file() else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found")
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
