"""``workbench replay episode=PATH``: re-simulate a recorded episode to video; ``verify=true`` checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import ReplayConfig
from workbench.errors import UserError


def dataset_root(episode: Path) -> Path:
    """``DIR/episodes/episode_000000.npz`` -> ``DIR`` (the dataset holding meta.json)."""
    root = episode.parent.parent
    if not (root / "meta.json").is_file():
        raise UserError(f"{episode} is not inside a workbench dataset ({root / 'meta.json'} missing)")
    return root


def check_output(out: Path, given: bool) -> None:
    """Replay writes one new video: never over a directory or another file. (Its own default output,
    ``<episode>_<camera>.mp4`` beside the episode, is re-rendered in place.)"""
    if out.is_dir():
        raise UserError(
            f"out={out} is a directory; name the .mp4 file to write, e.g. out={out / 'replay.mp4'}"
        )
    if given and out.exists():
        raise UserError(f"out={out} already exists; choose a new file name (replay never overwrites a file)")


def run(cfg: ReplayConfig) -> dict[str, Any]:
    from workbench.data import load_episode, load_meta
    from workbench.replay import executed_actions, render_states, verify_actions
    from workbench.sampler import EnvFactory
    from workbench.video import write_video

    assert cfg.episode is not None
    path = Path(cfg.episode)
    if not path.is_file():
        raise UserError(f"episode {path} not found")
    out = Path(cfg.out) if cfg.out else path.with_name(f"{path.stem}_{cfg.camera}.mp4")
    check_output(out, given=cfg.out is not None)
    root = dataset_root(path)
    meta = load_meta(root)
    files = [entry["file"] for entry in meta["episodes"]]
    relative = f"{path.parent.name}/{path.name}"
    if relative not in files:
        raise UserError(f"{path} is not listed in {root / 'meta.json'} (an unfinished or foreign file?)")
    episode = load_episode(root, files.index(relative), obs_keys=[], meta=meta)
    if episode.sim_states is None:
        raise UserError(f"{path} has no simulator states; it cannot be re-simulated")
    # Observations are not needed to re-simulate; the physics does not depend on the obs mode.
    kwargs = {**meta["env_kwargs"], "obs_mode": "state"}
    env = EnvFactory(meta["env_id"], kwargs)()
    result: dict[str, Any] = {"episode": str(path), "steps": episode.length}
    try:
        if cfg.verify:
            check = verify_actions(env, episode.sim_states, executed_actions(episode), cfg.atol)
            result.update(verified=check.ok, max_error=check.max_error)
            if not check.ok:
                raise UserError(
                    f"replay diverged from the recording at step {check.first_divergence} of "
                    f"{check.steps} (max state error {check.max_error:.3g} > atol {cfg.atol})"
                )
            print(f"verified: {check.steps} steps reproduce the recording (max error {check.max_error:.3g})")
        frames = render_states(env, episode.sim_states, cfg.camera, cfg.width, cfg.height)
    finally:
        env.close()
    write_video(out, frames, fps=cfg.fps or int(meta.get("fps", 20)))
    print(f"video: {out}")
    result["video"] = str(out)
    return result
