"""``workbench bench <suite>``: measurements users compare, written into docs/benchmarks.md.

Each suite replaces its own section of the file (between ``<!-- bench:<suite> -->`` markers) and
records the exact command, the date and the machine, so every number can be traced and re-made.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

from workbench.config import BenchConfig
from workbench.io import atomic_write_text

HEADER = """# Benchmarks

Every number here was produced by the command shown above its table, on the machine named there.
Re-run the command to refresh its section; absolute times drift between machines and runs, so
compare numbers measured side by side in one run (ratios) rather than across sections.
"""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, no GPU used"


def write_section(path: Path, suite: str, body: str) -> None:
    """Replace (or append) the ``suite`` section of the benchmarks file atomically."""
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- bench:{suite} -->", f"<!-- /bench:{suite} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def _command() -> str:
    return "workbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def bench_envs(cfg: BenchConfig) -> str:
    import envs
    from envs import bench

    rows_step, rows_render, rows_expert, rows_make = [], [], [], []
    for env_id in envs.ENV_IDS:
        print(f"measuring {env_id} ...", flush=True)
        make = bench.construction_time(env_id)
        step = bench.step_rate(env_id)
        fast = bench.render_rate(env_id, 84, 84)
        big = bench.render_rate(env_id, 128, 128)
        pretty = bench.render_rate(env_id, 84, 84, frames=100, fast=False)
        expert = bench.expert_success(env_id, episodes=cfg.expert_episodes)
        rows_make.append(f"| {env_id} | {make['first_s'] * 1000:.0f} | {make['cached_s'] * 1000:.1f} |")
        rows_step.append(
            f"| {env_id} | {step['substeps']} | {step['env_steps_per_s']:.0f} | "
            f"{step['unwrapped_steps_per_s']:.0f} | {step['raw_mj_step_per_s']:.0f} | "
            f"**{step['ratio']:.2f}** | {step['ratio_unwrapped']:.2f} |"
        )
        rows_render.append(
            f"| {env_id} | front | **{fast['frames_per_s']:.0f}** | {big['frames_per_s']:.0f} | "
            f"{pretty['frames_per_s']:.0f} | {fast['frames_per_s'] / pretty['frames_per_s']:.0f}x |"
        )
        failed = ", ".join(map(str, expert["failed_seeds"])) or "none"
        rows_expert.append(
            f"| {env_id} | {expert['episodes']} | **{expert['success_rate']:.0%}** | "
            f"{expert['mean_episode_length']:.1f} | {expert['max_episode_length']} | {failed} |"
        )
    return "\n".join(
        [
            "## Environments",
            "",
            "```",
            _command(),
            "```",
            f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}.",
            "",
            "### Env step rate vs raw physics (state observations, random actions)",
            "",
            "`env` goes through `gymnasium.make`'s wrappers; `unwrapped` calls the env itself; `raw` is",
            "`mj_step(nstep=substeps)` on the very states the env visited. Ratio = env / raw (1.0 = no",
            "overhead beyond physics).",
            "",
            "| env | substeps | env steps/s | unwrapped steps/s | raw mj_step steps/s | ratio "
            "| ratio unwrapped |",
            "|---|---|---|---|---|---|---|",
            *rows_step,
            "",
            "### Observation rendering (rgb, EGL software rendering on the CPU)",
            "",
            "Observation cameras render with shadows, reflections, skybox and multisampling off;",
            "video frames keep MuJoCo's default (pretty) settings. Both measured here side by side.",
            "",
            "| env | camera | obs frames/s 84x84 | obs frames/s 128x128 | pretty frames/s 84x84 | speed-up |",
            "|---|---|---|---|---|---|",
            *rows_render,
            "",
            "### Scripted expert success",
            "",
            "| env | seeds | success | mean length | max length | failed seeds |",
            "|---|---|---|---|---|---|",
            *rows_expert,
            "",
            "### Env construction (`gymnasium.make` + first `reset`), ms",
            "",
            "| env | first in process | cached model |",
            "|---|---|---|",
            *rows_make,
        ]
    )


def bench_train(cfg: BenchConfig) -> str:
    """The default ``workbench train`` (BC on Push): wall time and success, per training seed."""
    import tempfile

    from workbench.commands.train import run as train
    from workbench.config import compose

    rows = []
    for seed in range(cfg.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            overrides = [f"seed={seed}", f"run_dir={tmp}/run", "trainer.progress=false"]
            tic = time.perf_counter()
            result = train(compose("train", overrides))
            wall = time.perf_counter() - tic
        rows.append(
            f"| {seed} | **{result['success_rate']:.0%}** | {result['episodes']} | "
            f"{result['mean_length']:.1f} | {wall / 60:.2f} |"
        )
    return "\n".join(
        [
            "## Default training run (`workbench train`: BC, state, wb/Push-mujoco-v0, 100 demos)",
            "",
            "```",
            _command(),
            "```",
            f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}. Goal: >= 90% success in < 5 minutes.",
            "Wall time covers demo collection, training, 50 evaluation episodes and the videos.",
            "",
            "| training seed | success | eval episodes | mean length | wall minutes |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


SUITES = {"envs": bench_envs, "train": bench_train}


def run(cfg: BenchConfig, suite: str = "envs") -> str:
    body = SUITES[suite](cfg)
    print(body)
    if cfg.write:
        write_section(Path(cfg.out), suite, body)
        print(f"wrote {cfg.out}")
    return body
