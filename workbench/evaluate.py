"""Evaluate any policy on seeded episodes; write results.json, videos and the episodes themselves."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import Policy
from foundation.files import clean_stale_temp, temp_name
from workbench.config import BackendConfig, EnvConfig, EvalSettings
from workbench.data import DatasetWriter, Episode, observation_spec, spec_from_space
from workbench.errors import UserError
from workbench.io import atomic_write_json
from workbench.progress import ProgressBar
from workbench.provenance import provenance
from workbench.replay import render_states
from workbench.sampler import EnvFactory, Sampler, env_factory
from workbench.video import write_video

RESULTS_FORMAT = "workbench-eval-results"
RESULTS_VERSION = 2


def episode_record(ep: Episode) -> dict[str, Any]:
    """One episode's row of results.json: seed, success, return, length and task metrics."""
    record: dict[str, Any] = {
        "seed": ep.seed,
        "success": bool(ep.success),
        "return": float(ep.episode_return),
        "length": int(ep.length),
        "sim_unstable": bool(ep.info.get("sim_unstable", False)),
    }
    for key in sorted(k for k in ep.info if k.startswith(("max_", "final_"))):
        record[key] = float(ep.info[key])
    return record


def summarize(episodes: list[Episode]) -> dict[str, Any]:
    summary = {
        "success_rate": float(np.mean([ep.success for ep in episodes])),
        "mean_return": float(np.mean([ep.episode_return for ep in episodes])),
        "mean_length": float(np.mean([ep.length for ep in episodes])),
        "episodes": len(episodes),
        "seeds": [int(ep.seed) for ep in episodes if ep.seed is not None],
        "successes": [bool(ep.success) for ep in episodes],
        "sim_unstable": int(sum(bool(ep.info.get("sim_unstable")) for ep in episodes)),
    }
    for key in sorted({k for ep in episodes for k in ep.info if k.startswith(("max_", "final_"))}):
        summary[f"mean_{key}"] = float(np.mean([ep.info.get(key, 0.0) for ep in episodes]))
    summary["per_episode"] = [episode_record(ep) for ep in episodes]
    return summary


def write_episode_videos(
    env: Any,
    episodes: list[Episode],
    out_dir: Path,
    camera: str,
    width: int,
    height: int,
    fps: int,
) -> list[str]:
    """Re-simulate the episodes from their saved states and write one mp4 each (pretty rendering)."""
    paths = []
    for k, ep in enumerate(episodes):
        if ep.sim_states is None:
            raise ValueError(f"episode {k} has no simulator states to render")
        frames = render_states(env, ep.sim_states, camera, width, height)
        if "perceived_xyz" in ep.info:  # perception in the loop: where the model placed the objects
            from perception.draw import draw_world_points

            intrinsics, pose = env.unwrapped.camera_matrices(camera, width, height)
            # step t's estimate was made from the state after it: frame t + 1
            for t, xyz in enumerate(ep.info["perceived_xyz"]):
                frames[t + 1] = draw_world_points(frames[t + 1], np.reshape(xyz, (-1, 3)), intrinsics, pose)
        tag = "success" if ep.success else "failure"
        path = out_dir / f"episode_{k:03d}_seed{ep.seed}_{tag}.mp4"
        write_video(path, frames, fps=fps)
        paths.append(str(path))
    return paths


def evaluate(
    policy: Policy,
    env: EnvConfig,
    settings: EvalSettings,
    out_dir: Path,
    episodes_dir: Path | None = None,
    progress: bool = True,
    extra: dict[str, Any] | None = None,
    backend: BackendConfig | None = None,
) -> dict[str, Any]:
    """Roll out ``settings.episodes`` seeded episodes; write ``out_dir/results.json`` and videos.

    ``out_dir`` belongs to this evaluation (a new record directory, or the training run's own
    ``eval/``); nothing outside ``out_dir`` and ``episodes_dir`` is touched. Video paths (and
    ``episodes_dir`` when it lies inside ``out_dir``) are relative to ``out_dir``."""
    factory = env_factory(env)
    backend = backend or BackendConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = range(settings.first_seed, settings.first_seed + settings.episodes)
    with (
        Sampler.from_config(factory, min(settings.num_envs, settings.episodes), backend) as sampler,
        ProgressBar("eval", settings.episodes, enabled=progress) as bar,
    ):
        episodes = sampler.run(policy, seeds, progress=lambda done, total: bar.update(done))
        restarts = sampler.restarts
    results: dict[str, Any] = {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, **summarize(episodes)}
    videos: list[str] = []
    # One env re-renders the videos and describes the saved episodes.
    replay_env = factory()
    try:
        # Videos re-render episodes from their simulator states; passthrough envs (CartPole) have none.
        if settings.video and settings.video_episodes > 0 and episodes[0].sim_states is not None:
            videos = write_episode_videos(
                replay_env,
                episodes[: settings.video_episodes],
                out_dir / "videos",
                settings.camera,
                settings.video_width,
                settings.video_height,
                env_fps(replay_env),
            )
        if episodes_dir is not None:
            save_episodes(replay_env, factory, env.cameras, episodes, episodes_dir)
    finally:
        replay_env.close()
    results["videos"] = [str(Path(v).relative_to(out_dir)) for v in videos]
    results.update(
        env_id=env.id, split=settings.split, first_seed=settings.first_seed, num_envs=settings.num_envs,
        backend=backend.name, restarts=restarts,
    )  # fmt: skip
    results.update(extra or {})
    if episodes_dir is not None:
        # Relative when inside out_dir (as the videos): a staged record is renamed after this write.
        inside = episodes_dir.is_relative_to(out_dir)
        results["episodes_dir"] = str(episodes_dir.relative_to(out_dir) if inside else episodes_dir)
    results.update({k: v for k, v in provenance().items() if k not in results})
    atomic_write_json(out_dir / "results.json", results)
    return results


def record_dir(parent: Path, name: str) -> Path:
    """A new directory name under ``parent``: ``name``, else ``name-2``, ``name-3``, ... (never reused)."""
    path, k = parent / name, 1
    while path.exists():
        k += 1
        path = parent / f"{name}-{k}"
    return path


def check_new_or_empty(path: Path, key: str = "out") -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(
            f"{key}={path} already exists and is not empty; evaluation records are never overwritten: "
            f"choose a new directory, or leave {key} unset for a fresh one"
        )


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Write a whole record into a hidden sibling, then rename it to ``final``: an interrupted
    command leaves no half-written record, and an existing directory is never replaced."""
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp(final.parent, recursive=False)  # records a killed evaluation left half-written
    staging = temp_name(final, tag="stage")
    staging.mkdir()
    try:
        yield staging
        if final.exists():
            if any(final.iterdir()):
                raise UserError(f"{final} appeared while evaluating; the new record stays in {staging}")
            final.rmdir()
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def env_fps(env: Any) -> int:
    """Control frequency of the env (frames per second of its videos)."""
    return round(env.metadata.get("render_fps", 20))


def dataset_writer(
    env: Any, factory: EnvFactory, cameras: list[str], root: Path, append: bool = False
) -> DatasetWriter:
    """A writer for episodes of ``env`` (built by ``factory``): specs and fps read off the env."""
    return DatasetWriter(
        root,
        env_id=factory.env_id,
        env_kwargs=factory.kwargs,
        obs_spec=observation_spec(env.observation_space),
        action_spec=spec_from_space(env.action_space),
        fps=env_fps(env),
        cameras=list(cameras),
        append=append,
    )


def save_episodes(
    env: Any, factory: EnvFactory, cameras: list[str], episodes: list[Episode], root: Path
) -> None:
    """Write the evaluation episodes as a dataset, replacing an earlier evaluation's atomically."""
    staging = temp_name(root, tag="stage")
    writer = dataset_writer(env, factory, cameras, staging)
    for ep in episodes:
        writer.add(ep)
    writer.close()
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)


def format_results(results: dict[str, Any]) -> str:
    return json.dumps({k: results[k] for k in ("success_rate", "mean_return", "mean_length", "episodes")})
