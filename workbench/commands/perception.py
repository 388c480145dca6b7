"""``workbench perception <action>``: perception datasets (``collect``) and, later, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config.perception import PerceptionCollectConfig


def run(cfg: Any, action: str) -> dict[str, Any]:
    if action == "collect":
        return collect(cfg)
    raise AssertionError(f"unknown perception action {action!r}")  # the CLI checks actions first


def collect(cfg: PerceptionCollectConfig) -> dict[str, Any]:
    from perception.collect import CollectSpec, collect

    assert cfg.out is not None
    spec = CollectSpec(
        env_id=cfg.env.id, cameras=list(cfg.cameras), width=cfg.width, height=cfg.height, frames=cfg.frames,
        frames_per_episode=cfg.frames_per_episode, split=cfg.split, num_points=cfg.num_points,
        seed_offset=cfg.seed_offset, env_kwargs=_env_kwargs(cfg),
    )  # fmt: skip
    result = collect(spec, Path(cfg.out), cfg.seeds, progress=cfg.progress)
    print(
        f"perception dataset: {result['out']}  split: {result['split']}  frames: {result['frames']}  "
        f"images: {result['images']}  annotations: {result['annotations']}  "
        f"seeds: {result['first_seed']}..{result['last_seed']}"
    )
    return result


def _env_kwargs(cfg: PerceptionCollectConfig) -> dict[str, Any]:
    """The env's own settings that still apply (controller, kwargs, episode length); the command sets
    the observation mode, cameras and image size."""
    kwargs: dict[str, Any] = dict(cfg.env.kwargs)
    if cfg.env.controller is not None:
        kwargs["controller"] = cfg.env.controller
    if cfg.env.max_episode_steps is not None:
        kwargs["max_episode_steps"] = cfg.env.max_episode_steps
    return kwargs
