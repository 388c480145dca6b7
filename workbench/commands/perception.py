"""``workbench perception <action>``: perception datasets (``collect``), models (``train``), what they
predict (``show``) and what they look at (``explain``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config.perception import (
    PerceptionCollectConfig,
    PerceptionExplainConfig,
    PerceptionShowConfig,
    PerceptionTrainConfig,
)
from workbench.errors import UserError


def run(cfg: Any, action: str) -> dict[str, Any]:
    if action == "collect":
        return collect(cfg)
    if action == "train":
        return train(cfg)
    if action == "explain":
        return explain(cfg)
    if action == "show":
        return show(cfg)
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


def explain(cfg: PerceptionExplainConfig) -> dict[str, Any]:
    """Saliency and Grad-CAM pictures of a perception model or an image policy (``perception.explain``)."""
    import numpy as np

    from envs.scene_spec import fuse_index
    from perception.explain import explain as explain_frames
    from perception.explain import panel, perception_target, policy_target
    from workbench.evaluate import check_new_or_empty, staged_dir
    from workbench.video import write_video

    assert cfg.run is not None and cfg.out is not None
    out = Path(cfg.out)
    check_new_or_empty(out)
    run = Path(cfg.run)
    if not run.exists():
        raise UserError(f"run={run}: no such run directory or model file")
    perception_model = run / "model.pt" if run.is_dir() else run
    if (
        perception_model.suffix == ".pt"
        and perception_model.is_file()
        and _is_perception_file(perception_model)
    ):
        from perception.model_io import load_model

        model = load_model(perception_model)
        target = perception_target(model)
        if cfg.episodes is not None:
            frames, steps = _episode_frames(cfg, None, getattr(model, "image_hw", None))
        else:
            from perception.data import load_split

            assert cfg.data is not None
            data = load_split(Path(cfg.data), cfg.split)
            rows = fuse_index(len(data), min(cfg.frames, len(data)))  # evenly spaced frames
            frames, steps = data.images[rows], rows
    else:
        if cfg.episodes is None:
            raise UserError("an image policy is explained on an episode it acted in: give episodes=DIR "
                            "(e.g. RUN/eval/<record>/episodes) and episode=K")  # fmt: skip
        from workbench.api import load_policy

        try:
            policy = load_policy(run)
        except FileNotFoundError as exc:
            raise UserError(f"run={run}: {exc}") from exc
        from workbench.data.reader import load_episode

        observations = load_episode(Path(cfg.episodes), cfg.episode).obs
        target = policy_target(policy, observations, cfg.camera)
        frames, steps = _episode_frames(cfg, target.camera, None, observations)
    cams, saliency = [], []
    for start in range(0, len(frames), 16):
        cam, sal = explain_frames(target, frames[start : start + 16], steps[start : start + 16])
        cams.append(cam)
        saliency.append(sal)
    panels = [
        panel(f, c, s) for f, c, s in zip(frames, np.concatenate(cams), np.concatenate(saliency), strict=True)
    ]
    import imageio.v3 as iio

    with staged_dir(out) as stage:
        every = cfg.every if cfg.episodes is not None else 1
        for i in range(0, len(panels), every):
            iio.imwrite(stage / f"explain_{int(steps[i]):04d}.png", panels[i])
        if cfg.episodes is not None:
            write_video(stage / "explain.mp4", np.stack(panels), fps=cfg.fps)
    print(f"explained: {target.description}; {len(panels)} frames (frame | saliency | Grad-CAM) in {out}")
    return {"out": str(out), "frames": len(panels), "target": target.description}


def _is_perception_file(path: Path) -> bool:
    """A perception model file (not a policy's): its payload names the perception format."""
    import torch

    from perception.model_io import MODEL_FORMAT

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(payload, dict) and payload.get("format") == MODEL_FORMAT


def _episode_frames(
    cfg: PerceptionExplainConfig, camera: str | None, image_hw: Any, observations: Any = None
) -> tuple[Any, Any]:
    """An episode's frames (T+1, H, W, 3) of ``camera`` and their steps."""
    import numpy as np

    from workbench.data.reader import load_episode

    assert cfg.episodes is not None
    if observations is None:
        observations = load_episode(Path(cfg.episodes), cfg.episode).obs
    keys = [k for k in observations if k.startswith("rgb/")]
    key = f"rgb/{camera or cfg.camera}" if (camera or cfg.camera) else (keys[0] if keys else None)
    if key is None or key not in observations:
        raise UserError(
            f"episode {cfg.episode} of {cfg.episodes} has no {key or 'rgb'} frames; "
            f"it has {sorted(observations)}"
        )
    frames = observations[key]
    if image_hw is not None and tuple(frames.shape[1:3]) != tuple(image_hw):
        raise UserError(
            f"{key} frames are {frames.shape[1]}x{frames.shape[2]}; "
            f"the model reads {image_hw[0]}x{image_hw[1]}"
        )
    return frames, np.arange(len(frames))


def show(cfg: PerceptionShowConfig) -> dict[str, Any]:
    """A perception model's predictions drawn on ``frames`` evenly spaced frames of a dataset split."""
    import imageio.v3 as iio

    from envs.scene_spec import fuse_index
    from perception.data import load_split
    from perception.draw import show as draw
    from perception.in_the_loop import model_file
    from perception.model_io import load_model
    from workbench.evaluate import check_new_or_empty, staged_dir

    assert cfg.run is not None and cfg.data is not None and cfg.out is not None
    out = Path(cfg.out)
    check_new_or_empty(out)
    model = load_model(model_file(cfg.run))
    if model.task not in ("detection", "segmentation", "promptable", "ssl"):
        kinds = "detection, segmentation, promptable and ssl"
        raise UserError(f"show draws {kinds} models; {cfg.run} is a {model.task} one")
    data = load_split(Path(cfg.data), cfg.split)
    rows = fuse_index(len(data), min(cfg.frames, len(data)))  # evenly spaced frames
    try:
        pictures = draw(model, data.images[rows], data.seg[rows], cfg.min_score)
    except ValueError as exc:  # a model show cannot draw (a SimCLR or DINO ViT): one line
        raise UserError(str(exc)) from exc
    with staged_dir(out) as stage:
        for row, picture in zip(rows, pictures, strict=True):
            iio.imwrite(stage / f"show_{int(row):04d}.png", picture)
    print(f"{len(pictures)} {model.task} pictures in {out}")
    return {"out": str(out), "frames": len(pictures)}
