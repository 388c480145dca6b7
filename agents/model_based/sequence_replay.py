"""Replay for latent world models: transitions with dict observations kept in their own dtypes (uint8
images stay uint8), each row's episode ids, and the starts of ``horizon``-step subsequences that lie in
one episode (what TD-MPC's losses train on)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class SequenceReplay:
    def __init__(
        self, obs_shapes: dict[str, tuple[tuple[int, ...], Any]], action_dim: int, horizon: int
    ) -> None:
        self.horizon = horizon
        self.size = 0
        self._specs: dict[str, tuple[tuple[int, ...], Any]] = {}
        for key, (shape, dtype) in obs_shapes.items():
            self._specs[f"obs/{key}"] = (shape, dtype)
            self._specs[f"next_obs/{key}"] = (shape, dtype)
        self._specs.update({"action": ((action_dim,), np.float32), "reward": ((), np.float32),
                            "terminated": ((), np.float32), "episode": ((), np.int64)})  # fmt: skip
        self._data = {k: np.zeros((256, *shape), dtype) for k, (shape, dtype) in self._specs.items()}
        self.starts: list[int] = []  # transitions that begin a horizon-step subsequence in one episode
        self.row_episode: list[int] = []  # the episode id each env row is in
        self.next_episode = 0

    def __len__(self) -> int:
        return self.size

    def new_episodes(self, mask: np.ndarray) -> None:
        """Rows of ``mask`` begin new episodes (globally unique ids)."""
        while len(self.row_episode) < len(mask):
            self.row_episode.append(-1)
        for row in np.flatnonzero(mask):
            self.row_episode[row] = self.next_episode
            self.next_episode += 1

    def add(self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
            next_obs: dict[str, np.ndarray], terminated: np.ndarray) -> None:  # fmt: skip
        """One batched env step: one transition per row, in row order."""
        rows = len(actions)
        batch = {"action": actions, "reward": rewards, "terminated": terminated,
                 "episode": np.asarray(self.row_episode[:rows])}  # fmt: skip
        for key in self._specs:
            group, _, name = key.partition("/")
            if group in ("obs", "next_obs"):
                batch[key] = (obs if group == "obs" else next_obs)[name]
        self._append(batch)
        # A row's next transition is `rows` further on (every env step adds one per row, in order).
        episodes = self._data["episode"]
        span = (self.horizon - 1) * rows
        for j in range(self.size - rows, self.size):
            i = j - span
            if i >= 0 and all(episodes[i + k * rows] == episodes[j] for k in range(self.horizon)):
                self.starts.append(i)

    def _append(self, batch: dict[str, np.ndarray]) -> None:
        n = len(batch["action"])
        capacity = len(self._data["action"])
        if self.size + n > capacity:
            capacity = max(2 * capacity, self.size + n)
            for key, old in self._data.items():
                grown = np.zeros((capacity, *old.shape[1:]), old.dtype)
                grown[: self.size] = old[: self.size]
                self._data[key] = grown
        for key, value in batch.items():
            self._data[key][self.size : self.size + n] = value
        self.size += n

    def sample(self, batch_size: int, rows: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """``batch_size`` subsequences: every entry (H, B, ...), observations as stored (uint8 images)."""
        pick = torch.randint(len(self.starts), (batch_size,), generator=generator)
        starts = torch.as_tensor(self.starts)[pick]  # (B,)
        idx = (starts[None] + rows * torch.arange(self.horizon)[:, None]).numpy()  # (H, B)
        return {k: torch.from_numpy(v[idx]) for k, v in self._data.items() if k != "episode"}

    def state(self) -> dict[str, Any]:
        return {
            **{k: torch.from_numpy(v[: self.size].copy()) for k, v in self._data.items()},
            "starts": torch.as_tensor(self.starts, dtype=torch.int64),
            "row_episode": list(self.row_episode),
            "next_episode": self.next_episode,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.size = 0
        self._append({k: state[k].numpy() for k in self._specs})
        self.starts = state["starts"].tolist()
        self.row_episode = list(state["row_episode"])
        self.next_episode = int(state["next_episode"])
