"""Sensor and actuator models as Gymnasium wrappers, one behaviour each: what a real robot's sensors and
controller do that the simulator does not.

| config name        | wrapper              | what it models                                        |
|--------------------|----------------------|-------------------------------------------------------|
| ``obs_noise``      | ``ObservationNoise`` | i.i.d. Gaussian noise on float vector observations    |
| ``proprio_bias``   | ``ProprioBias``      | a per-episode offset on ``proprio`` (calibration)     |
| ``dropped_frames`` | ``DroppedFrames``    | a camera frame that did not arrive: the last repeats  |
| ``image_noise``    | ``ImageNoise``       | blur (optics), then pixel noise (sensor) on ``rgb/*`` |
| ``action_delay``   | ``ActionDelay``      | latency: the env executes the action of ``steps`` ago |

Randomness: each wrapper draws from its own ``numpy`` Generator, re-made at ``reset(seed=s)`` as
``default_rng([s, SALT])`` with a per-wrapper ``SALT`` (two wrappers never share a stream), and left
running on an unseeded reset. A seeded episode thus gets the same noise every time, and the env's own
``np_random`` — which samples the layout — is never drawn from, so a sensor never changes the scene.

``apply_sensors(env, specs)`` wraps in list order from the config's ``env.sensors`` list, each spec
``{"name": <config name>, **params}``; ``check_sensors(specs)`` checks them at config time, without an
env. Observation spaces never change (image noise keeps uint8).
A non-``Dict`` observation is treated as the one key ``state``, as the episode recorder stores it.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

STATE = "state"  # the key of a non-Dict observation
IMAGE_PREFIXES = ("rgb/", "depth/", "seg/")


# ------------------------------------------------------------------------------------------ helpers
def _check_nonnegative(name: str, value: Any) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number >= 0")
    if value < 0:
        raise ValueError(f"{name}={value!r} must be >= 0")


def _check_key_names(keys: Sequence[str] | None) -> None:
    if keys is None:
        return
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise ValueError(f"keys={keys!r} must be a list of observation keys")
    if not keys:
        raise ValueError("keys=[] names no observation key; name some, or leave keys unset for the default")
    for key in keys:
        if not isinstance(key, str):
            raise ValueError(f"keys: {key!r} is not an observation key name")


def _episode_rng(rng: np.random.Generator, seed: int | None, salt: int) -> np.random.Generator:
    """The episode's generator: made from ``(seed, salt)`` on a seeded reset, else the running one."""
    return rng if seed is None else np.random.default_rng([seed, salt])


def _obs_spaces(env: gym.Env[Any, Any]) -> dict[str, spaces.Space[Any]]:
    space = env.observation_space
    return dict(space.spaces) if isinstance(space, spaces.Dict) else {STATE: space}


def _get(obs: Any, key: str) -> Any:
    return obs[key] if isinstance(obs, Mapping) else obs


def _replace(obs: Any, new: dict[str, Any]) -> Any:
    """``obs`` with the keys of ``new`` replaced (a new dict: the env's own dict is never mutated)."""
    if isinstance(obs, Mapping):
        return {**obs, **new}
    return new.get(STATE, obs)


def _copy(value: Any) -> Any:
    # Envs may hand out views of buffers they overwrite on the next step (a renderer's image).
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _is_float_vector(space: spaces.Space[Any]) -> bool:
    return isinstance(space, spaces.Box) and len(space.shape) == 1 and np.issubdtype(space.dtype, np.floating)


def _check_keys(keys: Sequence[str], available: Mapping[str, spaces.Space[Any]]) -> list[str]:
    for key in keys:
        if key not in available:
            raise ValueError(f"unknown observation key {key!r}; valid choices: {', '.join(available)}")
    return list(keys)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of the first two axes of ``image`` (H, W, ...) float, ``sigma`` in
    pixels, kernel radius ceil(3 sigma) (99.7% of the mass), edges extended by their border pixel."""
    radius = math.ceil(3 * sigma)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(image.dtype)  # (2r+1,)
    out = image
    for axis in (0, 1):
        moved = np.moveaxis(out, axis, 0)  # (N, ...) with the blurred axis first
        pad = [(radius, radius)] + [(0, 0)] * (moved.ndim - 1)
        padded = np.pad(moved, pad, mode="edge")  # (N + 2r, ...)
        acc = np.zeros_like(moved)
        for k, weight in enumerate(kernel):
            acc += weight * padded[k : k + len(moved)]
        out = np.moveaxis(acc, 0, axis)
    return out


# ------------------------------------------------------------------------------------------ sensors
class _EpisodeNoise(gym.ObservationWrapper[Any, Any, Any]):
    """An observation wrapper whose noise generator restarts from the episode seed at each reset;
    ``new_episode`` draws what holds for the whole episode, before the first observation."""

    SALT: ClassVar[int] = 0
    noise_rng: np.random.Generator

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.noise_rng = _episode_rng(self.noise_rng, seed, self.SALT)
        self.new_episode()
        return super().reset(seed=seed, options=options)

    def new_episode(self) -> None:
        """Per-episode draws (none by default)."""


class ObservationNoise(_EpisodeNoise):
    """i.i.d. Gaussian noise, ``std`` in the key's units, on float vector keys at every step and reset.

    ``keys=None``: every float 1-D key except the goal view's ``desired_goal`` (noise on what the
    policy senses, never on the task's goal)."""

    SALT: ClassVar[int] = 0x0B5
    EXCLUDED: ClassVar[tuple[str, ...]] = ("desired_goal",)

    def __init__(self, env: gym.Env[Any, Any], std: float, keys: Sequence[str] | None = None) -> None:
        super().__init__(env)
        self.check_args(std, keys)
        self.std = float(std)
        available = _obs_spaces(env)
        if keys is None:
            self.keys = [k for k, s in available.items() if _is_float_vector(s) and k not in self.EXCLUDED]
            if not self.keys:
                raise ValueError(
                    f"the observation has no float vector keys to add noise to "
                    f"(it has: {', '.join(available)}); use image_noise for images"
                )
        else:
            self.keys = _check_keys(keys, available)
            vectors = [k for k, s in available.items() if _is_float_vector(s)]
            for key in self.keys:
                if key not in vectors:
                    raise ValueError(
                        f"{key!r} is not a float vector observation; valid choices: "
                        f"{', '.join(vectors) or '(none)'}"
                    )
        self.noise_rng = np.random.default_rng()

    @staticmethod
    def check_args(std: float, keys: Sequence[str] | None = None) -> None:
        _check_nonnegative("std", std)
        _check_key_names(keys)

    def observation(self, observation: Any) -> Any:
        noisy = {}
        for key in self.keys:
            value = np.asarray(_get(observation, key))  # (D,)
            noisy[key] = (value + self.noise_rng.normal(0.0, self.std, value.shape)).astype(value.dtype)
        return _replace(observation, noisy)


class ProprioBias(_EpisodeNoise):
    """A constant offset on ``proprio`` (19,), drawn per episode at reset from N(0, ``std``) in the
    entries' units (rad, rad/s, m): encoder and calibration offsets that hold for a whole episode."""

    SALT: ClassVar[int] = 0xB1A5
    KEY: ClassVar[str] = "proprio"

    def __init__(self, env: gym.Env[Any, Any], std: float) -> None:
        super().__init__(env)
        self.check_args(std)
        self.std = float(std)
        space = _obs_spaces(env).get(self.KEY)
        if space is None or not _is_float_vector(space):
            raise ValueError(
                f"the observation has no float vector {self.KEY!r} key (it has: "
                f"{', '.join(_obs_spaces(env))}); add proprio to obs_mode"
            )
        self.shape: tuple[int, ...] = tuple(space.shape or ())
        self.noise_rng = np.random.default_rng()
        self.bias = np.zeros(self.shape)  # (19,) for the Panda envs; drawn at reset

    @staticmethod
    def check_args(std: float) -> None:
        _check_nonnegative("std", std)

    def new_episode(self) -> None:
        self.bias = self.noise_rng.normal(0.0, self.std, self.shape)

    def observation(self, observation: Any) -> Any:
        value = np.asarray(_get(observation, self.KEY))
        return _replace(observation, {self.KEY: (value + self.bias).astype(value.dtype)})


class DroppedFrames(gym.Wrapper[Any, Any, Any, Any]):
    """With probability ``prob`` per step the ``keys`` repeat the previous observation's values: a
    camera frame that did not arrive (one draw per step for all keys: the frames come together).

    ``keys=None``: every image key (``rgb/*``, ``depth/*``, ``seg/*``) and ``points``; every key when
    there are none. Never drops at reset: an episode starts with a frame."""

    SALT: ClassVar[int] = 0xD40

    def __init__(self, env: gym.Env[Any, Any], prob: float, keys: Sequence[str] | None = None) -> None:
        super().__init__(env)
        self.check_args(prob, keys)
        self.prob = float(prob)
        available = _obs_spaces(env)
        if keys is None:
            images = [k for k in available if k.startswith(IMAGE_PREFIXES) or k == "points"]
            self.keys = images or list(available)
        else:
            self.keys = _check_keys(keys, available)
        self.noise_rng = np.random.default_rng()
        self._last: dict[str, Any] = {}

    @staticmethod
    def check_args(prob: float, keys: Sequence[str] | None = None) -> None:
        _check_nonnegative("prob", prob)
        if not prob < 1:
            raise ValueError(f"prob={prob!r} must be in [0, 1) (1 would never deliver a frame)")
        _check_key_names(keys)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.noise_rng = _episode_rng(self.noise_rng, seed, self.SALT)
        obs, info = self.env.reset(seed=seed, options=options)
        self._last = {k: _copy(_get(obs, k)) for k in self.keys}
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.noise_rng.random() < self.prob:
            obs = _replace(obs, {k: _copy(v) for k, v in self._last.items()})
        else:
            self._last = {k: _copy(_get(obs, k)) for k in self.keys}
        return obs, reward, terminated, truncated, info


class ImageNoise(_EpisodeNoise):
    """Gaussian blur of ``blur`` pixels sigma (defocus, motion), then per-pixel Gaussian noise of
    ``std`` (0-255 units) on every ``rgb/*`` key; rounded and clipped back to uint8."""

    SALT: ClassVar[int] = 0x1A6E

    def __init__(self, env: gym.Env[Any, Any], std: float = 0.0, blur: float = 0.0) -> None:
        super().__init__(env)
        self.check_args(std, blur)
        self.std, self.blur = float(std), float(blur)
        available = _obs_spaces(env)
        self.keys = [k for k in available if k.startswith("rgb/")]
        if not self.keys:
            raise ValueError(
                f"the observation has no rgb/<camera> keys (it has: {', '.join(available)}); "
                "add rgb to obs_mode"
            )
        self.noise_rng = np.random.default_rng()

    @staticmethod
    def check_args(std: float = 0.0, blur: float = 0.0) -> None:
        _check_nonnegative("std", std)
        _check_nonnegative("blur", blur)

    def observation(self, observation: Any) -> Any:
        return _replace(observation, {k: self._corrupt(observation[k]) for k in self.keys})

    def _corrupt(self, image: np.ndarray) -> np.ndarray:
        if self.std == 0 and self.blur == 0:
            return image
        x = image.astype(np.float32)  # (H, W, 3)
        if self.blur > 0:  # optics before the sensor: blur first, then the sensor's noise
            x = gaussian_blur(x, self.blur)
        if self.std > 0:
            x += self.std * self.noise_rng.standard_normal(x.shape, dtype=np.float32)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ actuators
class ActionDelay(gym.Wrapper[Any, Any, Any, Any]):
    """Control latency: the env executes the action received ``steps`` steps earlier; the action
    executed is ``info["applied_action"]`` on every step (replay re-runs those, not the commands).

    ``max_steps``: a latency randomised per episode, uniform in ``[steps, max_steps]``, drawn from the
    episode seed (the same seed, the same latency).

    At reset the queue fills with the hold action: ``env.unwrapped.hold_action()`` where the env has
    one (the Panda envs: the action that leaves the robot as it is), else zeros of a Box's shape."""

    SALT: ClassVar[int] = 0xDE1A

    def __init__(self, env: gym.Env[Any, Any], steps: int, max_steps: int | None = None) -> None:
        super().__init__(env)
        self.check_args(steps, max_steps)
        self.min_steps = int(steps)
        self.max_steps = self.min_steps if max_steps is None else int(max_steps)
        self.steps: int = self.min_steps  # this episode's latency
        self.noise_rng = np.random.default_rng()
        self._hold: Callable[[], Any] | None = getattr(env.unwrapped, "hold_action", None)
        if self.max_steps and self._hold is None and not isinstance(env.action_space, spaces.Box):
            raise ValueError(
                f"{type(env.action_space).__name__} actions have no neutral 'zero' action and "
                f"{type(env.unwrapped).__name__} has no hold_action(); use a Box action space or steps=0"
            )
        self._queue: deque[Any] = deque()

    @staticmethod
    def check_args(steps: int, max_steps: int | None = None) -> None:
        if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps={steps!r} must be an integer >= 0")
        if max_steps is not None and (
            not isinstance(max_steps, numbers.Integral) or isinstance(max_steps, bool) or max_steps < steps
        ):
            raise ValueError(f"max_steps={max_steps!r} must be an integer >= steps ({steps})")

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.noise_rng = _episode_rng(self.noise_rng, seed, self.SALT)
        if self.max_steps > self.min_steps:
            self.steps = int(self.noise_rng.integers(self.min_steps, self.max_steps + 1))
        obs, info = self.env.reset(seed=seed, options=options)
        space = self.env.action_space
        hold = self._hold() if self._hold is not None else np.zeros(space.shape or ())
        # In the space's dtype, as a policy's actions are: recorded (float32) actions replay bit for bit.
        hold = np.asarray(hold, dtype=space.dtype).reshape(space.shape)
        self._queue = deque(hold.copy() for _ in range(self.steps))
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        if len(self._queue) < self.steps:
            raise gym.error.ResetNeeded("ActionDelay: call reset() before step()")
        self._queue.append(_copy(action))  # a copy: the caller may reuse its action buffer
        applied = self._queue.popleft()
        obs, reward, terminated, truncated, info = self.env.step(applied)
        return obs, reward, terminated, truncated, {**info, "applied_action": applied}


# ------------------------------------------------------------------------------------------ registry
class Sensor(Protocol):
    """A ``SENSORS`` entry: a wrapper class, ``Class(env, **params)``, whose ``check_args(**params)``
    validates the parameters without an env (at config time)."""

    def __call__(self, *args: Any, **kwargs: Any) -> gym.Env[Any, Any]: ...

    def check_args(self, *args: Any, **kwargs: Any) -> None: ...


SENSORS: dict[str, Sensor] = {
    "obs_noise": ObservationNoise,
    "proprio_bias": ProprioBias,
    "dropped_frames": DroppedFrames,
    "image_noise": ImageNoise,
    "action_delay": ActionDelay,
}


def apply_sensors(
    env: gym.Env[Any, Any], specs: Sequence[Mapping[str, Any]], where: str = "env.sensors"
) -> gym.Env[Any, Any]:
    """``env`` wrapped by each spec ``{"name": <a SENSORS name>, **params}`` in list order (the first
    wraps innermost). Raises ``ValueError``, one line naming the spec (``where[i]``) and what is valid."""
    for at, name, sensor, params in _parse(specs, where):
        try:
            env = sensor(env, **params)
        except ValueError as exc:
            raise ValueError(f"{at} ({name}): {exc}") from exc
    return env


def check_sensors(specs: Sequence[Mapping[str, Any]], where: str = "env.sensors") -> None:
    """What ``apply_sensors`` checks without an env (at config time): names, parameter names and
    values. What depends on the env (observation keys, a hold action) is checked when it wraps."""
    for at, name, sensor, params in _parse(specs, where):
        try:
            sensor.check_args(**params)
        except ValueError as exc:
            raise ValueError(f"{at} ({name}): {exc}") from exc


def _parse(specs: Sequence[Mapping[str, Any]], where: str) -> list[tuple[str, str, Sensor, dict[str, Any]]]:
    """``(where[i], name, class, params)`` of every spec, its name and parameter names checked."""
    if isinstance(specs, str | Mapping) or not isinstance(specs, Sequence):
        raise ValueError(f"{where} must be a list of {{name: ..., <param>: ...}} mappings, got {specs!r}")
    out = []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ValueError(f"{at}: expected a mapping with a 'name' key, got {spec!r}")
        name, params = spec["name"], {str(k): v for k, v in spec.items() if k != "name"}
        if not isinstance(name, str) or name not in SENSORS:
            raise ValueError(f"{at}: unknown sensor {name!r}; valid choices: {', '.join(sorted(SENSORS))}")
        sensor = SENSORS[name]
        signature = inspect.signature(sensor.check_args).parameters.values()  # the constructor's, less env
        valid = [p.name for p in signature]
        for key in params:
            if key not in valid:
                raise ValueError(
                    f"{at} ({name}): unknown parameter {key!r}; valid choices: {', '.join(valid)}"
                )
        missing = [p.name for p in signature if p.default is inspect.Parameter.empty and p.name not in params]
        if missing:
            raise ValueError(f"{at} ({name}): missing parameter {missing[0]!r}")
        out.append((at, name, sensor, params))
    return out
