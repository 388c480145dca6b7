"""Figures from a run directory: the learning curve and a frame strip of an evaluation episode.

``workbench report run=RUN_DIR [out=DIR] [camera=NAME]`` writes ``learning_curve.png`` (training loss
and evaluation success against steps, from ``metrics.jsonl``), ``frames.png`` (evenly spaced frames
of the first successful evaluation episode, or the first episode if none succeeded, re-rendered from
its saved simulator states) and, for a Panda task, ``paths.png``: the end effector's and the object's
paths of every evaluation episode seen from above, one overlay (which ways a policy goes: the modes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import UserError


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise UserError(f"{path} not found; is {run_dir} a workbench run directory?")
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
    return records


def learning_curve(run_dir: Path, out: Path, title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    loss = [(r["step"], r["train/loss"]) for r in records if r.get("train/loss") is not None]
    success = [(r["step"], r["eval/success_rate"]) for r in records if r.get("eval/success_rate") is not None]
    if not loss:
        raise UserError(f"{run_dir / 'metrics.jsonl'} has no train/loss entries to plot")
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot(*zip(*loss, strict=True), color="tab:blue", label="train/loss")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (normalised actions)", color="tab:blue")
    if success:
        twin = ax.twinx()
        twin.plot(*zip(*success, strict=True), "o-", color="tab:green", label="eval/success_rate")
        twin.set_ylim(-0.02, 1.02)
        twin.set_ylabel("evaluation success", color="tab:green")
    ax.set_title(title or run_dir.name)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def side_by_side(images: np.ndarray, gap: int = 4) -> np.ndarray:
    """(F, H, W, 3) uint8 frames -> one (H, F*W + (F-1)*gap, 3) strip, white gaps between them."""
    white = np.full((images.shape[1], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([part for img in images for part in (img, white)][:-1], axis=1)


def frame_strip(run_dir: Path, out: Path, camera: str = "front", frames: int = 6, size: int = 160) -> Path:
    import imageio.v3 as iio

    from workbench.data import iter_episodes, load_meta
    from workbench.replay import render_states
    from workbench.sampler import EnvFactory

    root = run_dir / "episodes"
    meta = load_meta(root)
    episodes = list(iter_episodes(root, obs_keys=[]))
    # The first successful episode, or the first one when the policy never succeeded.
    chosen = next((ep for ep in episodes if ep.success), episodes[0] if episodes else None)
    if chosen is None or chosen.sim_states is None:
        raise UserError(f"{root} holds no episode with simulator states to show")
    env = EnvFactory(meta["env_id"], {**meta["env_kwargs"], "obs_mode": "state"})()
    try:
        picks = np.linspace(0, len(chosen.sim_states) - 1, frames).round().astype(int)
        images = render_states(env, chosen.sim_states[picks], camera, size, size)
    finally:
        env.close()
    strip = side_by_side(images)
    out.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, strip)
    return out


def path_overlay(run_dir: Path, out: Path, limit: int = 20) -> Path | None:
    """The first ``limit`` evaluation episodes' paths from above: the end effector (thin) and, where the
    task has one, its first object (thick; ``<obj>_x``, ``<obj>_y`` in the state), solid for a success,
    dashed otherwise. None when the episodes hold no Panda ``state`` (CartPole)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from envs import task_of
    from envs.tasks import get_task
    from workbench.data import iter_episodes, load_meta

    root = run_dir / "episodes"
    meta = load_meta(root)
    try:
        names = list(get_task(task_of(meta["env_id"])).state_names)
    except ValueError:
        return None
    if "ee_x" not in names:
        return None
    ee = names.index("ee_x")
    obj = next((i for i, n in enumerate(names) if n.endswith("_x") and not n.startswith(("ee", "target"))
                and "_minus_" not in n), None)  # fmt: skip
    fig, ax = plt.subplots(figsize=(4.8, 4.8), dpi=100)
    episodes = [ep for _, ep in zip(range(limit), iter_episodes(root, obs_keys=["state"]), strict=False)]
    for ep in episodes:
        state = ep.obs["state"]
        style = "-" if ep.success else "--"
        ax.plot(state[:, ee + 1], state[:, ee], style, color="tab:blue", lw=0.8, alpha=0.6)
        if obj is not None:
            ax.plot(state[:, obj + 1], state[:, obj], style, color="tab:red", lw=2.0, alpha=0.5)
    ax.set_xlabel("y (m)")
    ax.set_ylabel("x (m, away from the robot)")
    ax.invert_xaxis()  # seen from above with the robot at the bottom: +y to the left
    ax.set_aspect("equal")
    what = "end effector (blue)" + (f", {names[obj][:-2]} (red)" if obj is not None else "")
    ax.set_title(f"{len(episodes)} evaluation episodes: {what}\nsolid: success, dashed: failure", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def instruction_sheet(
    records: list[tuple[str, Path]], out: Path, per_record: int = 2, frames: int = 5, scale: int = 2
) -> Path:
    """Rollouts with their instructions: for each (label, evaluation record) a success and a failure
    where both exist (else the first episodes), ``frames`` evenly spaced camera frames each, exactly as
    the policy saw them (the episodes' recorded rgb, enlarged ``scale`` x), under a caption with the
    label, the seed, the outcome and the instruction. One png."""
    import imageio.v3 as iio
    from PIL import Image, ImageDraw

    from workbench.data import load_episode, load_meta

    strips: list[np.ndarray] = []
    for label, record in records:
        root = record / "episodes"
        meta = load_meta(root)
        camera = f"rgb/{meta['cameras'][0]}" if meta.get("cameras") else None
        if camera is None or "instruction" not in meta["obs_spec"]:
            raise UserError(f"{root} holds no camera frames with instructions to show")
        outcomes = [bool(e["success"]) for e in meta["episodes"]]
        firsts = [outcomes.index(o) for o in (True, False) if o in outcomes]  # a success, a failure
        chosen = [*firsts, *(i for i in range(len(outcomes)) if i not in firsts)]
        for index in chosen[:per_record]:
            ep = load_episode(root, index, obs_keys=[camera, "instruction"], meta=meta)
            images = ep.obs[camera]  # (T+1, H, W, 3)
            picks = np.linspace(0, len(images) - 1, frames).round().astype(int)
            big = images[picks].repeat(scale, axis=1).repeat(scale, axis=2)  # (F, sH, sW, 3)
            row = side_by_side(big)
            caption = Image.new("RGB", (row.shape[1], 16), (255, 255, 255))
            outcome = "success" if ep.success else "failure"
            text = f"{label}  seed {ep.seed}  {outcome}:  \"{ep.obs['instruction'][0]}\""
            ImageDraw.Draw(caption).text((2, 2), text, fill=(0, 110, 0) if ep.success else (170, 0, 0))
            strips += [np.asarray(caption), row, np.full((6, row.shape[1], 3), 255, dtype=np.uint8)]
    if not strips:
        raise UserError("no evaluation episodes to show")
    out.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, np.concatenate(strips, axis=0))
    return out
