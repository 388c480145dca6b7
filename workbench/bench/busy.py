"""``workbench bench train``: the default training run idle and beside busy processes, side by side.

Why: with torch's default threads, one other busy process on a 2-core machine made ``workbench
train`` 30-100x slower (idle OpenMP threads spin while waiting for a descheduled peer). ``threads=
auto`` is meant to fix that; this benchmark shows whether it does, measured in one invocation so the
ratio is free of drift between machines and days. "Busy" = single-threaded Python processes spinning
``while True: pass``, started before the run and killed after it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROWS_FILE = Path(__file__).resolve().parents[2] / "configs" / "bench" / "train.yaml"


@dataclass(frozen=True)
class Condition:
    """How one measurement runs: ``busy`` spinning processes beside it, and ``overrides`` on top of
    the bench's run. A condition with overrides is a probe (e.g. ``threads=2``, torch's own choice on
    2 cores, with fewer steps): it is compared by training steps/s only, not by wall time."""

    name: str
    busy: int = 0  # spinning single-threaded processes beside the run
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.busy < 0:
            raise ValueError(f"condition {self.name}: busy={self.busy} must be >= 0")


@dataclass(frozen=True)
class TrainBench:
    """``configs/bench/train.yaml``: what run, under which conditions, with which goals."""

    overrides: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = (Condition("idle"), Condition("busy", 1))
    max_busy_ratio: float = 1.5  # busy wall time / idle wall time
    min_success: float | None = None
    max_wall_minutes: float | None = None  # idle

    def __post_init__(self) -> None:
        if not self.conditions or self.conditions[0].busy != 0 or self.conditions[0].overrides:
            raise ValueError(
                "the first condition must be idle (busy: 0, no overrides): ratios are taken against it"
            )
        if self.max_busy_ratio < 1:
            raise ValueError(f"max_busy_ratio={self.max_busy_ratio} must be >= 1")


def load_train_bench(path: Path = ROWS_FILE) -> TrainBench:
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(data) - {"overrides", "conditions", "goals"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; valid: overrides, conditions, goals")
    goals = data.get("goals") or {}
    conditions = tuple(
        Condition(**{**c, "overrides": tuple(c.get("overrides") or ())}) for c in data.get("conditions") or []
    )
    return TrainBench(
        overrides=tuple(data.get("overrides") or ()),
        conditions=conditions or TrainBench.conditions,
        **{k: float(v) for k, v in goals.items() if v is not None},
    )


@contextmanager
def spinning(processes: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``processes`` Python processes each spinning one core until the block ends."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        if procs:
            time.sleep(0.5)  # let them reach the loop before the clock starts
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=30)


@dataclass
class Measurement:
    condition: str
    busy: int
    seed: int
    wall_s: float
    steps_per_s: float | None
    success_rate: float
    threads: int
    load_before: float  # 1-minute load average when the run started (others' work included)


def _median_steps_per_s(run_dir: Path) -> float | None:
    values = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        value = json.loads(line).get("train/steps_per_s")
        if value is not None:
            values.append(float(value))
    return statistics.median(values) if values else None


def measure(overrides: list[str], condition: Condition, seed: int) -> Measurement:
    import torch

    from workbench.commands.train import run as train  # exactly what `workbench train` runs
    from workbench.config import compose

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cfg = compose("train", [*overrides, f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=false"])
        load = os.getloadavg()[0]
        with spinning(condition.busy):
            tic = time.perf_counter()
            result = train(cfg)
            wall = time.perf_counter() - tic
        return Measurement(
            condition.name,
            condition.busy,
            seed,
            wall,
            _median_steps_per_s(run_dir),
            float(result["success_rate"]),
            torch.get_num_threads(),  # what the run's threads= setting chose
            load,
        )


def run(seeds: int, bench: TrainBench | None = None) -> list[Measurement]:
    """Every condition for each seed, interleaved (idle, busy, idle, busy...) so drift hits both."""
    bench = bench or load_train_bench()
    out = []
    for seed in range(seeds):
        for condition in bench.conditions:
            print(f"bench train: seed {seed}, {condition.name} ...", flush=True)
            out.append(measure([*bench.overrides, *condition.overrides], condition, seed))
    return out


def ratios(measurements: list[Measurement], baseline: str) -> dict[str, float]:
    """Mean wall time of each condition / the baseline condition's."""
    walls: dict[str, list[float]] = {}
    for m in measurements:
        walls.setdefault(m.condition, []).append(m.wall_s)
    base = statistics.fmean(walls[baseline])
    return {name: statistics.fmean(values) / base for name, values in walls.items()}


def render(measurements: list[Measurement], bench: TrainBench, command: str, stamp: str) -> str:
    baseline = bench.conditions[0].name
    ratio = ratios(measurements, baseline)
    steps: dict[str, list[float]] = {}
    for m in measurements:
        if m.steps_per_s is not None:
            steps.setdefault(m.condition, []).append(m.steps_per_s)
    run = " ".join(["workbench train", *bench.overrides])
    lines = [
        "## Default training run (`workbench train`: BC, state, wb/Push-mujoco-v0, 100 demos)",
        "",
        "```",
        command,
        "```",
        f"{stamp}. Each training seed S runs `{run} seed=S` once per condition, back to back in",
        "one process; busy = single-threaded Python processes spinning `while True: pass` beside the run.",
        "Wall time covers demo collection, training, 50 evaluation episodes and the videos; steps/s is the",
        "median training throughput over logging windows; threads = what `threads=auto` chose; load =",
        "the 1-minute load average as the run started (other people's work on the machine included).",
        "",
        "| condition | training seed | threads | load | success | wall minutes | training steps/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measurements:
        sps = f"{m.steps_per_s:.0f}" if m.steps_per_s is not None else ""
        lines.append(
            f"| {m.condition} | {m.seed} | {m.threads} | {m.load_before:.1f} | {m.success_rate:.0%} | "
            f"{m.wall_s / 60:.2f} | {sps} |"
        )
    lines.append("")
    for cond in bench.conditions[1:]:
        sps_ratio = ""
        if steps.get(cond.name) and steps.get(baseline):
            rate = statistics.fmean(steps[cond.name]) / statistics.fmean(steps[baseline])
            sps_ratio = f", training steps/s {rate:.2f}x idle's"
        if cond.overrides:  # a probe with another run: throughput only
            probe = f"**{cond.name}** (`{' '.join(cond.overrides)}`, busy={cond.busy})"
            lines.append(f"{probe}{sps_ratio.replace(',', ':', 1)}.")
            continue
        ok = ratio[cond.name] <= bench.max_busy_ratio
        lines.append(
            f"**{cond.name} / {baseline}: wall time {ratio[cond.name]:.2f}x{sps_ratio}** "
            f"(goal: <= {bench.max_busy_ratio:g}x wall time: {'met' if ok else 'missed'})."
        )
    idle = [m for m in measurements if m.condition == baseline]
    checks = []
    if bench.min_success is not None:
        success = statistics.fmean(m.success_rate for m in idle)
        checks.append(
            f">= {bench.min_success:.0%} success ({success:.0%}: {_met(success >= bench.min_success)})"
        )
    if bench.max_wall_minutes is not None:
        wall = statistics.fmean(m.wall_s for m in idle) / 60
        ok = wall <= bench.max_wall_minutes
        checks.append(f"< {bench.max_wall_minutes:g} minutes idle ({wall:.2f}: {_met(ok)})")
    if checks:
        lines.append(f"Goals of the default run: {'; '.join(checks)}.")
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


STORE = Path(__file__).resolve().parents[2] / "docs" / "bench" / "train.json"
FORMAT = "workbench-bench-train"


def store(measurements: list[Measurement], bench: TrainBench, command: str, machine: str, path: Path) -> None:
    """The measurements behind the rendered section, with the commit and settings that produced them."""
    import dataclasses
    from datetime import datetime

    from workbench.io import atomic_write_json
    from workbench.provenance import provenance

    atomic_write_json(
        path,
        {
            "format": FORMAT,
            "version": 1,
            "date": f"{datetime.now():%Y-%m-%d %H:%M}",
            "machine": machine,
            "command": command,
            **provenance(),
            "overrides": list(bench.overrides),
            "conditions": [dataclasses.asdict(c) for c in bench.conditions],
            "measurements": [dataclasses.asdict(m) for m in measurements],
        },
    )
