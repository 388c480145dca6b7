"""Acting over a batch of envs: observation history and receding-horizon action queues.

Both pieces keep one row per env of a vector env, so envs whose episodes restart at different
times are reset independently (``reset_envs(mask)``), exactly as the dataset loader pads: a fresh
episode's history repeats its first observation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch


class ObsHistory:
    """The last ``horizon`` observations of each key, per env: ``key -> (B, To, *shape)``."""

    def __init__(self, keys: Sequence[str], horizon: int) -> None:
        self.keys = list(keys)
        self.horizon = horizon
        self.history: dict[str, np.ndarray] = {}
        self._fresh: np.ndarray | None = None  # (B,) rows whose episode just started

    def reset(self) -> None:
        self.history = {}
        self._fresh = None

    def reset_envs(self, mask: np.ndarray) -> None:
        if self._fresh is not None:
            self._fresh |= mask

    def update(self, obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Append this step's observations (B, *shape) and return the history (oldest first)."""
        batch = np.asarray(obs[self.keys[0]]).shape[0]
        if self._fresh is None or self._fresh.shape[0] != batch or not self.history:
            first = {k: np.asarray(obs[k])[:, None] for k in self.keys}  # (B, 1, *shape)
            self.history = {k: np.repeat(v, self.horizon, axis=1) for k, v in first.items()}
            self._fresh = np.zeros(batch, dtype=bool)
            return self.history
        for key in self.keys:
            current = np.asarray(obs[key])
            hist = np.roll(self.history[key], -1, axis=1)  # (B, To, *shape), oldest first
            hist[:, -1] = current
            # A restarted episode is padded with its first observation, as the dataset loader pads.
            hist[self._fresh] = current[self._fresh, None]
            self.history[key] = hist
        self._fresh[:] = False
        return self.history


class ActionQueue:
    """Receding horizon: each env executes ``execute`` actions of a predicted chunk, then replans."""

    def __init__(self, execute: int, action_dim: int) -> None:
        self.execute = execute
        self.action_dim = action_dim
        self._queue: np.ndarray | None = None  # (B, execute, A) actions still to execute
        self._pos: np.ndarray | None = None  # (B,) index of the next queued action

    def reset(self) -> None:
        self._queue = None
        self._pos = None

    def reset_envs(self, mask: np.ndarray) -> None:
        if self._pos is not None:
            self._pos[mask] = self.execute  # empty: the restarted env replans on its next step

    def next(self, batch: int, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The (B, A) actions of this step. ``predict(need)`` gets the (B,) bool mask of envs whose
        queue is empty and returns their chunks (n, >= execute, A); only those rows are run."""
        if self._queue is None or self._pos is None or self._queue.shape[0] != batch:
            self._queue = np.zeros((batch, self.execute, self.action_dim), dtype=np.float32)
            self._pos = np.full(batch, self.execute)
        need = self._pos >= self.execute
        if need.any():
            self._queue[need] = predict(need)[:, : self.execute]  # (n, Te, A)
            self._pos[need] = 0
        action = self._queue[np.arange(batch), self._pos]  # (B, A)
        self._pos += 1
        return action


class RowGenerators:
    """Sampling noise for stochastic policies, one torch generator per env row, seeded from its episode
    seed (``reset_envs(mask, seeds)``): an episode's noise then depends on its seed only, not on
    ``num_envs`` or on which rows replan together. Without per-row seeds one shared generator serves."""

    def __init__(self) -> None:
        self.shared = torch.Generator().manual_seed(0)
        self.rows: list[torch.Generator] = []

    def reset(self, seed: int | None = None) -> None:
        self.shared.manual_seed(0 if seed is None else seed)
        self.rows = []

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None) -> None:
        if seeds is None:
            return
        while len(self.rows) < len(mask):
            self.rows.append(torch.Generator().manual_seed(0))
        for row in map(int, np.flatnonzero(mask)):
            seed = seeds[row]
            if seed is not None:
                self.rows[row].manual_seed(int(seed))

    def for_rows(self, need: np.ndarray) -> torch.Generator | list[torch.Generator]:
        """The generators of the rows in the (B,) mask ``need``; the shared one if rows were never seeded."""
        return [self.rows[i] for i in np.flatnonzero(need)] if len(self.rows) == len(need) else self.shared
