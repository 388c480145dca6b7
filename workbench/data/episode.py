"""One episode's arrays (:class:`Episode`) and the observation/action specs a dataset declares.

The dataset format as a whole is described in :mod:`workbench.data`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "workbench-dataset"
VERSION = 1
IMAGE_PREFIXES = ("rgb", "depth", "seg")

PathLike = str | os.PathLike[str]
Stats = dict[str, dict[str, Any]]




@dataclass
class Episode:
    """One episode's arrays; T = number of actions (see the module docstring for shapes)."""

    obs: dict[str, np.ndarray]  # key -> (T+1, ...)
    actions: np.ndarray  # (T, A) float32
    rewards: np.ndarray  # (T,) float32
    terminated: bool = False
    truncated: bool = False
    successes: np.ndarray | None = None  # (T,) bool; None -> all False
    sim_states: np.ndarray | None = None  # (T+1, S) float64
    expert_actions: np.ndarray | None = None  # (T, A) float32
    seed: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    # (T, A) float32: what the env executed where a wrapper changed the commands (ActionDelay)
    applied_actions: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Normalise dtypes once here so every consumer can rely on them.
        self.actions = np.asarray(self.actions, dtype=np.float32)
        if self.actions.ndim == 1:  # a scalar action per step -> (T, 1)
            self.actions = self.actions[:, None]
        t = len(self.actions)
        self.rewards = np.asarray(self.rewards, dtype=np.float32).reshape(-1)
        self.successes = (
            np.zeros(t, dtype=bool) if self.successes is None else np.asarray(self.successes, dtype=bool)
        )
        self.obs = {k: np.asarray(v) for k, v in self.obs.items()}
        if self.sim_states is not None:
            self.sim_states = np.asarray(self.sim_states, dtype=np.float64)
        if self.expert_actions is not None:
            self.expert_actions = np.asarray(self.expert_actions, dtype=np.float32).reshape(
                self.actions.shape
            )
        if self.applied_actions is not None:
            self.applied_actions = np.asarray(self.applied_actions, dtype=np.float32).reshape(
                self.actions.shape
            )
        self.terminated, self.truncated = bool(self.terminated), bool(self.truncated)
        self.seed = None if self.seed is None else int(self.seed)

        def check(name: str, arr: np.ndarray, n: int) -> None:
            if len(arr) != n:
                raise ValueError(f"episode {name} has length {len(arr)}, expected {n} (T={t} actions)")

        check("rewards", self.rewards, t)
        check("successes", self.successes, t)
        for k, v in self.obs.items():
            check(f"obs[{k!r}]", v, t + 1)
        if self.sim_states is not None:
            check("sim_states", self.sim_states, t + 1)

    @property
    def length(self) -> int:
        return len(self.actions)

    @property
    def success(self) -> bool:
        assert self.successes is not None  # set in __post_init__
        return bool(self.successes.any())

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum(dtype=np.float64))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz payload (keys as in the module docstring)."""
        assert self.successes is not None
        arrays: dict[str, np.ndarray] = {f"obs/{k}": v for k, v in self.obs.items()}
        arrays.update(
            actions=self.actions,
            rewards=self.rewards,
            successes=self.successes,
            terminated=np.asarray(self.terminated),
            truncated=np.asarray(self.truncated),
            seed=np.asarray(-1 if self.seed is None else self.seed, dtype=np.int64),
            info_json=np.asarray(json.dumps(self.info)),
        )
        if self.sim_states is not None:
            arrays["sim_states"] = self.sim_states
        if self.expert_actions is not None:
            arrays["expert_actions"] = self.expert_actions
        if self.applied_actions is not None:
            arrays["applied_actions"] = self.applied_actions
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Episode:
        seed = int(arrays["seed"]) if "seed" in arrays else -1
        return cls(
            obs={k[len("obs/") :]: v for k, v in arrays.items() if k.startswith("obs/")},
            actions=arrays["actions"],
            rewards=arrays["rewards"],
            terminated=bool(arrays.get("terminated", False)),
            truncated=bool(arrays.get("truncated", False)),
            successes=arrays.get("successes"),
            sim_states=arrays.get("sim_states"),
            expert_actions=arrays.get("expert_actions"),
            seed=None if seed < 0 else seed,
            info=json.loads(str(arrays["info_json"])) if "info_json" in arrays else {},
            applied_actions=arrays.get("applied_actions"),
        )




def is_image_key(key: str) -> bool:
    """``rgb/front``, ``depth/wrist``, ``seg/front``: per-camera images."""
    return key.split("/", 1)[0] in IMAGE_PREFIXES


def is_low_dim(key: str, per_step_shape: Sequence[int], dtype: Any) -> bool:
    """A numeric vector (or scalar) per step: what gets statistics and lives fully in memory."""
    return not is_image_key(key) and len(per_step_shape) <= 1 and np.issubdtype(np.dtype(dtype), np.number)


def low_dim_keys(obs_spec: Mapping[str, Any]) -> list[str]:
    return [k for k, s in obs_spec.items() if is_low_dim(k, s.get("shape", []), s.get("dtype", "float32"))]


def _bound(x: np.ndarray) -> float | list[float | None] | None:
    # JSON has no inf: unbounded entries become null. Small bounds are kept elementwise (actions);
    # large ones (an 84x84x3 image box) collapse to a scalar when uniform, else are dropped.
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    as_json = [float(v) if np.isfinite(v) else None for v in flat]
    if flat.size <= 64:
        return as_json
    return as_json[0] if np.all(flat == flat[0]) else None


def spec_from_space(space: Any) -> dict[str, Any]:
    """JSON spec of a gymnasium space: a Box/Discrete/Text spec, or ``{key: spec}`` for a Dict.

    Nested Dicts are flattened with ``/`` (``{"rgb": {"front": Box}}`` -> ``"rgb/front"``), matching
    the observation keys used everywhere else.
    """
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        out: dict[str, Any] = {}
        for key, sub in space.spaces.items():
            if isinstance(sub, spaces.Dict):
                out.update({f"{key}/{k}": v for k, v in spec_from_space(sub).items()})
            else:
                out[key] = spec_from_space(sub)
        return out
    if isinstance(space, spaces.Box):
        spec: dict[str, Any] = {"shape": list(space.shape), "dtype": str(space.dtype)}
        low, high = _bound(space.low), _bound(space.high)
        if low is not None:
            spec["low"] = low
        if high is not None:
            spec["high"] = high
        return spec
    if isinstance(space, spaces.Discrete):
        return {"shape": [], "dtype": "int64", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"shape": list(space.shape), "dtype": "int64", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.Text):
        return {"shape": [], "dtype": "str", "max_length": int(space.max_length)}
    raise TypeError(f"spec_from_space does not support {type(space).__name__}")


def observation_spec(space: Any) -> dict[str, Any]:
    """``{key: spec}`` of an observation space; a plain (non-Dict) space is recorded as ``state``."""
    from gymnasium import spaces

    return spec_from_space(space) if isinstance(space, spaces.Dict) else {"state": spec_from_space(space)}


