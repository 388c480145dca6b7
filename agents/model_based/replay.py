"""The transitions an online agent collected, as growing arrays (saved in checkpoints as tensors)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

KEYS = ("state", "action", "reward", "next_state", "terminated")


class TransitionBuffer:
    """Every transition so far, in arrival order: ``state`` (N, S), ``action`` (N, A), ``reward`` (N,),
    ``next_state`` (N, S), ``terminated`` (N,). Capacity doubles as it fills (model-based agents keep
    the whole history: their models are refit on all of it)."""

    def __init__(self, state_dim: int, action_dim: int) -> None:
        self.size = 0
        self._shapes: dict[str, tuple[int, ...]] = {
            "state": (state_dim,), "action": (action_dim,), "reward": (), "next_state": (state_dim,),
            "terminated": (),
        }  # fmt: skip
        self._data = {k: np.zeros((1024, *shape), np.float32) for k, shape in self._shapes.items()}

    def add(self, **batch: np.ndarray) -> None:
        """Append a batch: every key of ``KEYS``, each with the same leading length."""
        n = len(batch["state"])
        if self.size + n > len(self._data["state"]):
            capacity = max(2 * len(self._data["state"]), self.size + n)
            for key, old in self._data.items():
                grown = np.zeros((capacity, *self._shapes[key]), np.float32)
                grown[: self.size] = old[: self.size]
                self._data[key] = grown
        for key in KEYS:
            self._data[key][self.size : self.size + n] = batch[key]
        self.size += n

    def __len__(self) -> int:
        return self.size

    def tensors(self) -> dict[str, torch.Tensor]:
        """Views of the filled part as tensors (no copy)."""
        return {k: torch.from_numpy(v[: self.size]) for k, v in self._data.items()}

    def state(self) -> dict[str, Any]:
        return {k: v.clone() for k, v in self.tensors().items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.size = 0
        self.add(**{k: state[k].numpy() for k in KEYS})
