"""Gymnasium spaces as SB3 sees them, rebuilt from the workbench's JSON specs.

A policy file holds the observation and action *specs* (JSON, see ``workbench.data``), not pickled
spaces; both the trainer and a policy loaded for evaluation rebuild SB3's spaces here, from the
same specs, so the network a checkpoint was trained with is the network that loads it.

SB3 wants images channel-first (uint8, ``(C, H, W)``); the envs render channel-last
``(H, W, C)``. :func:`to_sb3_obs` transposes batched image observations on the way in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_PREFIXES = ("rgb", "depth")


def is_image_key(key: str, spec: dict[str, Any]) -> bool:
    return key.split("/", 1)[0] in IMAGE_PREFIXES and len(spec.get("shape", [])) == 3


def box_from_spec(spec: dict[str, Any], shape: tuple[int, ...] | None = None) -> Any:
    from gymnasium import spaces

    dtype = np.dtype(spec.get("dtype", "float32"))
    shape = tuple(spec["shape"]) if shape is None else shape

    def bound(value: Any, default: float) -> np.ndarray:
        if value is None:
            return np.full(shape, default)
        arr = np.asarray([default if v is None else v for v in np.ravel(value)], dtype=np.float64)
        return np.broadcast_to(arr.reshape(shape) if arr.size == np.prod(shape) else arr, shape)

    if np.issubdtype(dtype, np.integer):
        low, high = bound(spec.get("low"), 0), bound(spec.get("high"), 255)
        return spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)
    low, high = bound(spec.get("low"), -np.inf), bound(spec.get("high"), np.inf)
    return spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)


def action_space_from_spec(spec: dict[str, Any]) -> Any:
    from gymnasium import spaces

    if "n" in spec:
        return spaces.Discrete(int(spec["n"]), start=int(spec.get("start", 0)))
    return box_from_spec(spec)


def observation_space_from_spec(obs_spec: dict[str, Any]) -> Any:
    """The SB3 observation space: a Box for a single ``state`` key (CartPole), else a Dict with
    images channel-first."""
    from gymnasium import spaces

    if list(obs_spec) == ["state"]:
        return box_from_spec(obs_spec["state"])
    out: dict[str, Any] = {}
    for key, spec in obs_spec.items():
        if is_image_key(key, spec):
            h, w, c = spec["shape"]
            out[key] = spaces.Box(0, 255, (c, h, w), np.uint8)
        else:
            out[key] = box_from_spec(spec)
    return spaces.Dict(out)


def image_keys(obs_spec: dict[str, Any]) -> list[str]:
    return [k for k, s in obs_spec.items() if is_image_key(k, s)]


def to_sb3_obs(obs: Any, images: list[str], flat: bool = False) -> Any:
    """Batched env observations -> SB3's layout: images (B, H, W, C) -> (B, C, H, W). ``flat``: SB3
    sees a Box (a lone ``state`` observation, CartPole), so a ``{"state": x}`` dict becomes ``x``."""
    if not isinstance(obs, dict):
        return obs
    if flat:
        return obs["state"]
    return {k: np.ascontiguousarray(np.moveaxis(v, -1, 1)) if k in images else v for k, v in obs.items()}
