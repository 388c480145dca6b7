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
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.config import BenchConfig
from workbench.errors import UserError, one_line
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
    threads = os.environ.get("OMP_NUM_THREADS")
    pinned = f", OMP_NUM_THREADS={threads}" if threads else ""
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}{pinned}, no GPU used"


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


def _measure_env(bench: Any, env_id: str, cfg: BenchConfig, rows_make: list[str], rows_step: list[str],
                 rows_render: list[str], rows_expert: list[str]) -> None:
    make = bench.construction_time(env_id)
    step = bench.step_rate(env_id)
    rates = {
        name: bench.render_rate(env_id, size, size, frames=frames, mode=mode)
        for name, mode, size, frames in (
            ("rgb84", "rgb", 84, 500), ("rgb128", "rgb", 128, 300), ("depth", "depth", 84, 200),
            ("seg", "seg", 84, 200), ("points", "points", 84, 200),
        )
    }
    fps = {name: rate["frames_per_s"] for name, rate in rates.items()}
    # PyBullet's goal: within 1.2x of a bare getCameraImage of the same size (ratio >= 1 / 1.2).
    bare = f"{rates['rgb84']['ratio_to_bare']:.2f}" if "ratio_to_bare" in rates["rgb84"] else "-"
    pretty = (
        f"{bench.pretty_render_rate(env_id)['frames_per_s']:.0f}" if env_id.endswith("mujoco-v0") else "-"
    )
    expert = bench.expert_success(env_id, episodes=cfg.expert_episodes)
    rows_make.append(f"| {env_id} | {make['first_s'] * 1000:.0f} | {make['cached_s'] * 1000:.1f} |")
    rows_step.append(
        f"| {env_id} | {step['substeps']} | {step['env_steps_per_s']:.0f} | "
        f"{step['unwrapped_steps_per_s']:.0f} | {step['raw_steps_per_s']:.0f} | "
        f"**{step['ratio']:.2f}** | {step['ratio_unwrapped']:.2f} |"
    )
    rows_render.append(
        f"| {env_id} | **{fps['rgb84']:.0f}** | {fps['rgb128']:.0f} | {fps['depth']:.0f} | "
        f"{fps['seg']:.0f} | {fps['points']:.0f} | {pretty} | {bare} |"
    )
    failed = ", ".join(map(str, expert["failed_seeds"][:15])) or "none"
    if len(expert["failed_seeds"]) > 15:
        failed += ", ..."
    rows_expert.append(
        f"| {env_id} | {expert['episodes']} | **{expert['success_rate']:.0%}** | "
        f"{expert['mean_episode_length']:.1f} | {expert['max_episode_length']} | {failed} |"
    )


def bench_envs(cfg: BenchConfig) -> str:
    """Per task and simulator: step rate vs raw physics, observation frame rates, expert success;
    then sync vs async vector-env throughput. Ids whose backend is not importable are skipped."""
    from envs import bench

    ids = bench.available_ids()
    rows_step: list[str] = []
    rows_render: list[str] = []
    rows_expert: list[str] = []
    rows_make: list[str] = []
    rows_vec: list[str] = []
    for env_id in ids:
        print(f"measuring {env_id} ...", flush=True)
        try:
            _measure_env(bench, env_id, cfg, rows_make, rows_step, rows_render, rows_expert)
        except Exception as exc:  # a backend under construction must not cost the other rows
            failure = f"| {env_id} | failed: {one_line(exc)[:120]} |"
            print(failure, flush=True)
            rows_step.append(failure)
    for env_id in [i for i in ids if i.startswith("wb/Push-")]:
        print(f"vector envs {env_id} ...", flush=True)
        for n in (1, 2, 4):
            sync = bench.vector_throughput(env_id, n, "sync")["env_steps_per_s"]
            asyn = bench.vector_throughput(env_id, n, "async")["env_steps_per_s"]
            rows_vec.append(f"| {env_id} | {n} | {sync:.0f} | {asyn:.0f} | {asyn / sync:.2f} |")
    return "\n".join(
        [
            "## Environments",
            "",
            "```",
            _command(),
            "```",
            f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}.",
            f"Ids measured: {len(ids)} (an id is skipped when its simulator backend is not importable).",
            "",
            "### Env step rate vs raw physics (state observations, random actions)",
            "",
            "`env` goes through `gymnasium.make`'s wrappers; `unwrapped` calls the env itself; `raw` is",
            "the bare physics step (`mj_step(nstep=substeps)` / `stepSimulation` x substeps) on the very",
            "states the env visited. Ratio = env / raw (1.0 = no overhead beyond physics).",
            "",
            "| env | substeps | env steps/s | unwrapped steps/s | raw steps/s | ratio | ratio unwrapped |",
            "|---|---|---|---|---|---|---|",
            *rows_step,
            "",
            "### Observation frames/s (front camera, one CPU core, software rendering)",
            "",
            "Observation frames: no shadows, reflections, skybox or multisampling. `points` = rgb + depth",
            "back-projected, cropped and downsampled to 1024 points. `video` = pretty settings (MuJoCo).",
            "`vs bare` (PyBullet) = rgb 84x84 env frames/s / a bare `p.getCameraImage` of the same size",
            "and settings, measured side by side (goal: within 1.2x, i.e. >= 0.83).",
            "",
            "| env | rgb 84x84 | rgb 128x128 | depth 84x84 | seg 84x84 | points (84x84) | video rgb 84x84 "
            "| vs bare |",
            "|---|---|---|---|---|---|---|---|",
            *rows_render,
            "",
            "### Scripted expert success",
            "",
            "| env | seeds | success | mean length | max length | failed seeds |",
            "|---|---|---|---|---|---|",
            *rows_expert,
            "",
            "### Vector envs: sync vs async (env steps/s summed over sub-envs, state obs, random actions)",
            "",
            "On 2 cores async pays pickling and process hops and gains little past 2 envs.",
            "",
            "| env | envs | sync | async | async / sync |",
            "|---|---|---|---|---|",
            *rows_vec,
            "",
            "### Env construction (`gymnasium.make` + first `reset`), ms",
            "",
            "| env | first in process | cached model |",
            "|---|---|---|",
            *rows_make,
        ]
    )


def bench_train(cfg: BenchConfig) -> str:
    """The default ``workbench train`` idle and beside a busy process (``configs/bench/train.yaml``)."""
    from workbench.bench import busy

    bench = busy.load_train_bench()
    measurements = busy.run(cfg.seeds, bench)
    if cfg.write:
        busy.store(measurements, bench, _command(), machine(), busy.STORE)
    return busy.render(measurements, bench, _command(), f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}")


def bench_imitation(cfg: BenchConfig) -> str:
    """The imitation rows (``configs/bench/imitation.yaml``); rows marked ``kept`` (GAIL, AIRL) train
    in ``work`` and resume from it."""
    from workbench.bench import imitation

    work = Path(cfg.work) if cfg.work else imitation.WORK
    store = Path(cfg.store or "docs/bench/imitation")
    return imitation.run(cfg.rows or None, store, _command(), machine(), work)


def bench_rl(cfg: BenchConfig) -> str:
    """The RL rows (``configs/bench/rl.yaml``); unfinished seeds resume from ``work``."""
    from workbench.bench import rl

    return _online_suite(rl.RL, cfg)


def bench_mbrl(cfg: BenchConfig) -> str:
    """The model-based RL rows (``configs/bench/mbrl.yaml``); unfinished seeds resume from ``work``."""
    from workbench.bench import rl

    return _online_suite(rl.MBRL, cfg)


def _online_suite(where: Any, cfg: BenchConfig) -> str:
    from workbench.bench import rl

    work = Path(cfg.work) if cfg.work else where.work
    return rl.run(where, cfg.rows or None, Path(cfg.store or where.store), work, _command(), machine())


def bench_sampler(cfg: BenchConfig) -> str:
    """The sampler's backends side by side (``workbench/bench/sampler.py``); stored, then rendered."""
    from workbench.bench import sampler
    from workbench.bench.provenance import staleness

    result = sampler.run()
    if cfg.write:
        sampler.store(result, _command(), machine())
        result = sampler.load()
    repo = Path(__file__).resolve().parents[2]
    status = staleness(repo, result.get("commit"), ["workbench/sampler", "envs"]).text()
    return sampler.render(result, _command(), f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}", status)


def bench_planning(cfg: BenchConfig) -> str:
    """One planned action of each model-based agent's default planner, side by side; stored, rendered."""
    from workbench.bench import planning

    result = planning.run()
    if cfg.write:
        planning.store(result, _command(), machine())
        result = planning.load()
    stamp = f"{datetime.now():%Y-%m-%d %H:%M}, {machine()}"
    return planning.render(result, _command(), stamp, planning.status(result))


def bench_perception(cfg: BenchConfig) -> str:
    """The perception rows (``configs/bench/perception.yaml``): datasets, training, test scores."""
    from workbench.bench import perception

    work = Path(cfg.work) if cfg.work else perception.WORK
    store = Path(cfg.store) if cfg.store else perception.STORE
    return perception.run(cfg.rows or None, store, work, _command(), machine())


def bench_ssl(cfg: BenchConfig) -> str:
    """The self-supervised probe rows of the perception suite (keys ``ssl_*``): pretraining, the
    linear probe beside a random encoder; written into the perception section like its other rows."""
    from workbench.bench import perception

    ssl = [row["key"] for row in perception.load_rows()["rows"] if row["key"].startswith("ssl_")]
    others = sorted(set(cfg.rows or []) - set(ssl))
    if others:
        raise UserError(f"bench ssl runs the ssl rows {ssl}, not {others}; use `bench perception` for those")
    return bench_perception(replace(cfg, rows=cfg.rows or ssl))


def bench_transfer(cfg: BenchConfig) -> str:
    """Train in one simulator, evaluate in both (``configs/bench/transfer.yaml``); runs kept in ``work``."""
    from workbench.bench import transfer

    work = Path(cfg.work) if cfg.work else transfer.WORK
    store = Path(cfg.store) if cfg.store else transfer.STORE
    return transfer.run(cfg.rows or None, store, work, _command(), machine())


def bench_vla(cfg: BenchConfig) -> str:
    """Train the VLA rows on seen instructions, score every instruction split (``configs/bench/vla.yaml``)."""
    from workbench.bench import vla

    work = Path(cfg.work) if cfg.work else vla.WORK
    store = Path(cfg.store) if cfg.store else vla.STORE
    return vla.run(cfg.rows or None, store, work, _command(), machine())


def bench_appearance(cfg: BenchConfig) -> str:
    """The engines' frames side by side and PyBullet's light fitted to MuJoCo's; stored, rendered."""
    from workbench.bench import appearance

    result = appearance.run()
    if cfg.write:
        appearance.store(result, _command(), machine())
        return appearance.render(appearance.load())
    return appearance.render({**result, "command": _command(), "machine": machine(),
                              "date": f"{datetime.now():%Y-%m-%d %H:%M}"})  # fmt: skip


SUITES = {
    "envs": bench_envs,
    "appearance": bench_appearance,
    "train": bench_train,
    "imitation": bench_imitation,
    "sampler": bench_sampler,
    "rl": bench_rl,
    "mbrl": bench_mbrl,
    "planning": bench_planning,
    "perception": bench_perception,
    "ssl": bench_ssl,
    "transfer": bench_transfer,
    "vla": bench_vla,
}
SECTIONS = {"ssl": "perception"}  # suites that write another suite's section of docs/benchmarks.md


def run(cfg: BenchConfig, suite: str = "envs") -> str:
    body = SUITES[suite](cfg)
    print(body)
    if cfg.write:
        write_section(Path(cfg.out), SECTIONS.get(suite, suite), body)
        print(f"wrote {cfg.out}")
    return body
