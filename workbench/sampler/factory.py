"""Picklable env constructors: what a worker process or a Ray actor builds its envs from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.config.env import EnvConfig


@dataclass(frozen=True)
class EnvFactory:
    """Builds ``gymnasium.make(env_id, **kwargs)`` after ``import envs`` (which registers the wb/ ids
    in whatever process calls it: the driver, an async worker, a Ray actor), wrapped in perception in
    the loop when ``perception`` names a model (``perception.in_the_loop``; ``kwargs`` then already
    render what it needs, see ``env_factory``)."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    perception: str | None = None
    keep_points: bool = False

    def __call__(self) -> Any:
        import gymnasium as gym

        import envs  # noqa: F401  (registers the wb/ ids in this process)

        env = gym.make(self.env_id, **self.kwargs)
        if self.perception is not None:
            from perception.in_the_loop import PerceivedObjects, load_locator

            env = PerceivedObjects(env, load_locator(self.perception), keep_points=self.keep_points)
        return env


def env_factory(env: EnvConfig) -> EnvFactory:
    """The factory of an ``env.*`` config: its constructor kwargs and, with ``env.perception``, the
    perception model's sensors added to them."""
    kwargs = env.make_kwargs()
    if env.perception in (None, "off"):
        return EnvFactory(env.id, kwargs)
    from perception.in_the_loop import sensor_kwargs

    keep = "points" in env.obs_mode.split("+")
    return EnvFactory(env.id, sensor_kwargs(env.perception, kwargs), env.perception, keep_points=keep)
