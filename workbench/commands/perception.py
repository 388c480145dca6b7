"""``workbench perception <action>``: perception datasets (``collect``) and, later, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config.perception import PerceptionCollectConfig, PerceptionTrainConfig
from workbench.errors import UserError


def run(cfg: Any, action: str) -> dict[str, Any]:
    if action == "collect":
        return collect(cfg)
    if action == "train":
        return train(cfg)
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


# Keys a resumed run may change: how long it trains and how it reports, not what it learns.
RESUMABLE = ("steps", "resume", "threads", "device", "debug", "trainer.progress")


def train(cfg: PerceptionTrainConfig) -> dict[str, Any]:
    """Train a perception model (``perception.train`` does the work) and print where it went."""
    import shutil

    from workbench.train.perception_run import check_data, train_perception

    if cfg.resume is None:
        check_data(cfg)  # before a run directory exists
    run_dir, cfg = _run_dir(cfg)
    try:
        result = train_perception(cfg, run_dir, resuming=cfg.resume is not None)
    except BaseException:
        if cfg.resume is None and not any((run_dir / "checkpoints").glob("*.pt")):
            shutil.rmtree(run_dir, ignore_errors=True)  # a new run with nothing worth resuming
        raise
    scores = "  ".join(f"{k} {v:.3f}" for k, v in result.items() if isinstance(v, float))
    print(f"run directory: {run_dir}\n{result.get('split', 'test')}: {scores}")
    return {"run_dir": str(run_dir), **result}


def _run_dir(cfg: PerceptionTrainConfig) -> tuple[Path, PerceptionTrainConfig]:
    """A new run directory, or the run ``resume=`` names with its recorded config (``steps`` may
    change; anything else that differs is refused, naming it)."""
    import dataclasses
    from datetime import datetime

    from omegaconf import OmegaConf

    from workbench.config import to_yaml
    from workbench.config.compose import to_dataclass
    from workbench.io import atomic_write_text

    if cfg.resume is not None:
        run_dir = Path(cfg.resume)
        saved_path = run_dir / "config.yaml"
        if not saved_path.is_file():
            raise UserError(
                f"resume={run_dir}: no config.yaml there; is it a `workbench perception train` run?"
            )
        raw = OmegaConf.merge(
            OmegaConf.structured(PerceptionTrainConfig(resume="-")), OmegaConf.load(saved_path)
        )
        saved: PerceptionTrainConfig = to_dataclass(raw)
        mine, theirs = _leaves(cfg), _leaves(saved)
        defaults = _leaves(PerceptionTrainConfig(resume="-"))
        changed = [k for k, v in mine.items() if k not in RESUMABLE and v != defaults[k] and v != theirs[k]]
        if changed:
            raise UserError(f"resume={run_dir} cannot change {', '.join(changed)} (the run was trained with "
                            "its recorded config); start a new run instead")  # fmt: skip
        trainer = dataclasses.replace(saved.trainer, progress=cfg.trainer.progress)
        return run_dir, dataclasses.replace(saved, steps=cfg.steps, resume=cfg.resume, device=cfg.device,
                                            threads=cfg.threads, trainer=trainer)  # fmt: skip
    if cfg.run_dir is not None:
        run_dir = Path(cfg.run_dir)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UserError(
                f"run_dir={run_dir} exists and is not empty; choose a new one or resume={run_dir}"
            )
    else:
        now = datetime.now()
        run_dir = Path(cfg.runs_root) / now.strftime("%Y-%m-%d") / f"{now:%H-%M-%S}_perception_{cfg.task}"
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))
    return run_dir, cfg


def _leaves(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """A config dataclass as {dotted key: value} (nested configs flattened)."""
    import dataclasses

    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out.update(_leaves(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out
