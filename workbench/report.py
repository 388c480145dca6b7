"""Figures from a run directory: the learning curve and a frame strip of an evaluation episode.

``workbench report run=RUN_DIR [out=DIR] [camera=NAME]`` writes ``learning_curve.png`` (training loss
and evaluation success against steps, from ``metrics.jsonl``) and ``frames.png`` (evenly spaced frames
of the first successful evaluation episode, or the first episode if none succeeded, re-rendered from
its saved simulator states).
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
    gap = np.full((size, 4, 3), 255, dtype=np.uint8)
    strip = np.concatenate([part for img in images for part in (img, gap)][:-1], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, strip)
    return out
