"""``workbench collect``: record a dataset with the scripted expert (or a random policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import CollectConfig


def run(cfg: CollectConfig) -> dict[str, Any]:
    from workbench.collect import collect_dataset

    assert cfg.out is not None
    result = collect_dataset(
        env=cfg.env,
        policy_name=cfg.policy,
        episodes=cfg.episodes,
        seed=cfg.seed,
        noise=cfg.noise,
        success_only=cfg.success_only,
        num_envs=cfg.num_envs,
        backend=cfg.backend,
        out=Path(cfg.out),
        append=cfg.append,
    )
    print(
        f"dataset: {result['out']}  episodes: {result['episodes']}  "
        f"success_rate: {result['success_rate']:.3f}"
    )
    return result
