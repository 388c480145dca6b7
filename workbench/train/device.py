"""``device=auto|cpu|cuda|mps``: the torch device a run trains on, refused clearly when absent."""

from __future__ import annotations

from typing import Any

from workbench.errors import UserError


def pick_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda but no CUDA GPU is visible; use device=cpu or device=auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("device=mps but MPS is not available; use device=cpu or device=auto")
    return torch.device(name)
