"""The one interface for everything that acts: scripted experts, learned agents, random policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """Acts on *batched* observations: every array in ``obs`` has a leading batch dimension B."""

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:  # (B, A)
        ...


@runtime_checkable
class LearnedPolicy(Policy, Protocol):
    """A policy with weights; ``save`` writes weights *and* normalisation statistics and its config."""

    def save(self, path: str | Path) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...
