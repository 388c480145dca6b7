"""Uniformly random actions: the baseline policy of ``collect``/``eval policy=random``."""

from __future__ import annotations

from typing import Any

import numpy as np


class RandomPolicy:
    """Uniformly random actions from the env's action space (Box or Discrete), seeded."""

    def __init__(self, space: Any, seed: int | None = None) -> None:
        self.space = space
        self.seed = seed
        space.seed(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.space.seed(seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        pass  # one stream for the batch: random actions are a baseline, not a reproducible policy

    def act(self, obs: Any) -> np.ndarray:
        batch = (next(iter(obs.values())) if isinstance(obs, dict) else obs).shape[0]
        return np.stack([np.asarray(self.space.sample()) for _ in range(batch)])
