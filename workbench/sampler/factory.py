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
    sensors: tuple[dict[str, Any], ...] = ()  # sim2real sensor models, wrapped first (perception sees them)
    # sim2real domain randomisation: parameter -> (low, high), resolved (sim2real.randomize); kept out of
    # ``kwargs`` so those stay plain data (datasets record them as JSON)
    randomize: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __call__(self) -> Any:
        import gymnasium as gym

        import envs  # noqa: F401  (registers the wb/ ids in this process)

        kwargs = dict(self.kwargs)
        if self.randomize:
            from sim2real.randomize import Randomizer

            kwargs["randomizer"] = Randomizer(dict(self.randomize))
        env = gym.make(self.env_id, **kwargs)
        if self.sensors:
            from sim2real.wrappers import apply_sensors

            env = apply_sensors(env, [dict(s) for s in self.sensors])
        if self.perception is not None:
            from perception.in_the_loop import PerceivedObjects, load_locator

            env = PerceivedObjects(env, load_locator(self.perception), keep_points=self.keep_points)
        return env


def env_factory(env: EnvConfig) -> EnvFactory:
    """The factory of an ``env.*`` config: its constructor kwargs and, with ``env.perception``, the
    perception model's sensors added to them."""
    kwargs = env.make_kwargs()
    sensors = tuple(dict(s) for s in env.sensors)
    randomize = env.randomize_ranges()
    if env.perception in (None, "off"):
        return EnvFactory(env.id, kwargs, sensors=sensors, randomize=randomize)
    from perception.in_the_loop import sensor_kwargs

    keep = "points" in env.obs_mode.split("+")
    return EnvFactory(env.id, sensor_kwargs(env.perception, kwargs), env.perception, keep_points=keep,
                      sensors=sensors, randomize=randomize)  # fmt: skip
