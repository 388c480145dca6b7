"""The demonstrations a run trains on: collected on the fly into ``RUN/demos`` (seeds from the plan's
``demos`` range) or read from ``dataset=DIR``, whose seeds must stay clear of validation and test."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from workbench.config import TrainConfig
from workbench.errors import UserError


def with_state(obs_mode: str) -> str:
    """The scripted expert acts on the privileged ``state`` observation; datasets always record it."""
    modes = obs_mode.split("+")
    return obs_mode if "state" in modes else "+".join([*modes, "state"])


def ensure_demos(cfg: TrainConfig, root: Path) -> None:
    """Collect expert demos into ``root`` unless a complete set is already there (resume)."""
    from workbench.collect import collect_dataset
    from workbench.data import load_meta

    if (root / "meta.json").is_file():
        try:
            meta = load_meta(root)
            if meta.get("complete") and len(meta["episodes"]) == cfg.demos.episodes:
                return
        except (ValueError, FileNotFoundError):
            pass
        shutil.rmtree(root)  # a collection killed half-way (created by this run): collect again
    assert cfg.demos.seed is not None  # resolved from the seed plan by TrainConfig
    print(
        f"collecting {cfg.demos.episodes} expert demos on {cfg.env.id} "
        f"(seeds from {cfg.demos.seed}) -> {root}"
    )
    collect_dataset(
        env=dataclasses.replace(cfg.env, obs_mode=with_state(cfg.env.obs_mode)),
        policy_name="expert",
        episodes=cfg.demos.episodes,
        seed=cfg.demos.seed,
        noise=cfg.demos.noise,
        success_only=cfg.demos.success_only,
        num_envs=cfg.eval.num_envs,
        backend=cfg.backend,
        out=root,
        progress=cfg.trainer.progress,
        max_seed=cfg.seeds.demos.stop,
    )


def check_training_seeds(cfg: TrainConfig, dataset_dir: Path) -> None:
    """A dataset whose episodes were seeded from the validation or test range would let a policy be
    scored on layouts it trained on: refuse it up front, naming the seeds."""
    from workbench.config.seeds import format_seeds
    from workbench.data import episode_seeds

    seeds = episode_seeds(dataset_dir)
    for split in ("validation", "test"):
        r = cfg.seeds.get(split)
        clash = sorted(s for s in seeds if s in r)
        if clash:
            raise UserError(
                f"dataset {dataset_dir} has episodes with seeds {format_seeds(clash)} from seeds.{split} "
                f"{r}; training data must come from seeds.demos {cfg.seeds.demos} (re-collect with seed=)"
            )
