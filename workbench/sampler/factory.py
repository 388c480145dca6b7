"""Picklable env constructors: what a worker process or a Ray actor builds its envs from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EnvFactory:
    """Builds ``gymnasium.make(env_id, **kwargs)`` after ``import envs`` (which registers the wb/ ids
    in whatever process calls it: the driver, an async worker, a Ray actor)."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        import gymnasium as gym

        import envs  # noqa: F401  (registers the wb/ ids in this process)

        return gym.make(self.env_id, **self.kwargs)
