"""The interfaces between the workbench and everything that acts or learns.

``Policy`` is the one interface for everything that acts (scripted experts, learned agents, random
policies). ``LearnedPolicy`` adds weights. ``OfflineAgent`` is what the offline trainer drives: the
loop owns batching, schedules, clipping, logging and checkpoints; the agent brings the loss and the
optimizer (LeRobot's ``forward(batch) -> (loss, metrics)``). The trainers type against these
Protocols, never against concrete classes, and never probe with ``hasattr``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Policy(Protocol):
    """Acts on *batched* observations: every array in ``obs`` has a leading batch dimension B.

    ``reset(seed)`` starts a batch of episodes; ``reset_envs(mask, seeds)`` restarts the rows of
    ``mask`` (episodes that ended) with their new episode seeds, so a stochastic policy can draw
    from a per-episode generator and its results do not depend on how many envs run side by side.
    """

    def reset(self, seed: int | None = None) -> None: ...

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None: ...

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:  # (B, A)
        ...


@runtime_checkable
class LearnedPolicy(Policy, Protocol):
    """A policy with weights; ``save`` writes weights *and* normalisation statistics and its config."""

    name: str
    config: Any
    obs_spec: dict[str, Any]
    action_spec: dict[str, Any]

    def save(self, path: str | Path) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@runtime_checkable
class OfflineAgent(LearnedPolicy, Protocol):
    """A learned policy the offline trainer can fit to a dataset (an ``nn.Module``)."""

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of one batch and the scalar metrics to log beside it."""
        ...

    def configure_optimizer(self) -> torch.optim.Optimizer: ...

    def after_optimizer_step(self) -> None:
        """Called after every optimizer step (e.g. an EMA update); a no-op for most agents."""
        ...

    def parameters(self) -> Iterator[torch.nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...


@runtime_checkable
class OnlineLearner(LearnedPolicy, Protocol):
    """A learned policy that improves from its own interaction, driven step by step by the
    model-based trainer (the workbench's own online agents; SB3's algorithms drive themselves).

    ``act``/``reset``/``reset_envs`` (the Policy API) serve evaluation; training rollouts go through
    ``start_rows`` and ``explore`` with their own acting state, so evaluating mid-run never changes
    training."""

    def start_rows(self, mask: np.ndarray, seeds: list[int]) -> None:
        """Training rows of ``mask`` begin new episodes with these episode seeds."""
        ...

    def explore(self, obs: dict[str, np.ndarray], step: int) -> np.ndarray:
        """(B, A) actions for the training rollouts at env step ``step``."""
        ...

    def observe(
        self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
        next_obs: dict[str, np.ndarray], terminated: np.ndarray,
    ) -> None:  # fmt: skip
        """Store a batch of transitions (``next_obs`` of a finished row is its episode's last)."""
        ...

    def update(self, step: int) -> dict[str, float]:
        """Learn as the agent's schedule says at env step ``step``; the scalars to log."""
        ...

    def learner_state(self) -> dict[str, Any]:
        """Everything beyond ``state_dict`` that exact resume needs (data, optimizers, RNGs)."""
        ...

    def load_learner_state(self, state: dict[str, Any]) -> None: ...
