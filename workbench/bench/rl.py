"""``workbench bench rl`` and ``workbench bench mbrl``: train and evaluate the rows of
``configs/bench/rl.yaml`` / ``configs/bench/mbrl.yaml`` (:data:`RL`, :data:`MBRL`).

Like the imitation suite (same row file format, store, goals and staleness), with what RL rows need:

- **Long rows survive sessions.** Each training seed trains in a kept run directory,
  ``<work>/<row>/seed_<S>`` (``work=runs/bench/rl`` by default), not a temporary one: a killed or
  stopped benchmark resumes every unfinished seed from its checkpoint (exactly: see the online
  trainer) and reuses finished seeds, so a 300k-step row can run in the background across sessions.
  Wall time adds up every session's training time (``bench_wall.json`` in the run directory).
- **Learning curves.** Every seed's periodic evaluations (validation seeds, never test) are stored as
  ``curve: [[env_steps, success, return], ...]``; ``docs/rl.md`` plots them.
- Columns: success or return on the test seeds, env steps, wall time and env steps/s; the
  model-based suite adds the planning latency (median ms per planned action, training's own
  ``train/plan_ms`` on one thread), checked by ``goals.max_latency_ms``.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.bench import goals
from workbench.bench.imitation import (
    REPO,
    _median_metric,
    _resolved_config,
    config_sha256,
    per_episode,
    run_rows,
)
from workbench.bench.provenance import Staleness, entry_staleness
from workbench.bench.render import _provenance_line
from workbench.bench.rows import Row, Suite, load_suite
from workbench.bench.stats import format_percent_ci, format_value_ci, mean_ci
from workbench.bench.store import ResultStore, curve, seed_values
from workbench.io import atomic_write_json

WALL_FILE = "bench_wall.json"
# One record per training session of a seed (the commit and tree state it trained with), so a row
# trained across sessions stores the code of its first session, not of the session that finished it.
SEGMENTS_FILE = "bench_segments.json"


@dataclass(frozen=True)
class OnlineSuite:
    """Where a suite of online-learning rows lives: rows, results, kept runs, curves, title."""

    name: str
    rows: Path
    store: Path
    work: Path
    curves: Path
    title: str
    latency: bool = False  # a planning-latency column (model-based agents)
    compare: bool = False  # per-task figures of this suite's rows beside the other suites' (SAC)

    def header(self) -> tuple[str, str]:
        plan = ["plan ms/action"] if self.latency else []
        cols = ["agent", "task", "budget", "goal", "success [95% CI]", "return", "met", "env steps",
                "wall min", "env steps/s", *plan, "measured at"]  # fmt: skip
        return "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)


RL = OnlineSuite(
    "rl", REPO / "configs" / "bench" / "rl.yaml", REPO / "docs" / "bench" / "rl", Path("runs/bench/rl"),
    REPO / "docs" / "img" / "rl", "Reinforcement learning (`workbench bench rl`)",
)  # fmt: skip
MBRL = OnlineSuite(
    "mbrl", REPO / "configs" / "bench" / "mbrl.yaml", REPO / "docs" / "bench" / "mbrl",
    Path("runs/bench/mbrl"), REPO / "docs" / "img" / "mbrl", "Model-based RL (`workbench bench mbrl`)",
    latency=True,
    compare=True,
)  # fmt: skip
SUITES = {s.name: s for s in (RL, MBRL)}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (env workers): unlike wall time, it does not
    grow when another job shares the core, so a row's "<= N minutes of CPU" budget stays checkable."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _add_wall(run_dir: Path, seconds: float, cpu_seconds: float | None = None) -> float:
    """Add a training session's wall (and CPU) seconds to the run's totals; the CPU total is unknown
    (None) once any session was not measured."""
    path = run_dir / WALL_FILE
    old = json.loads(path.read_text()) if path.is_file() else {"seconds": 0.0, "cpu_seconds": 0.0}
    total = old["seconds"] + seconds
    old_cpu = old.get("cpu_seconds")
    cpu = None if old_cpu is None or cpu_seconds is None else old_cpu + cpu_seconds
    atomic_write_json(path, {"seconds": total, "cpu_seconds": cpu})
    return float(total)


def wall_of(run_dir: Path) -> tuple[float | None, float | None]:
    """(wall minutes, CPU minutes) a run has trained for; None where not recorded."""
    path = run_dir / WALL_FILE
    if not path.is_file():
        return None, None
    data = json.loads(path.read_text())
    cpu = data.get("cpu_seconds")
    return data["seconds"] / 60, None if cpu is None else cpu / 60


def _segment() -> dict[str, Any]:
    """This training session's provenance, taken when it starts."""
    from workbench.provenance import dirty_paths, head_commit

    dirty = dirty_paths(REPO)
    return {"commit": head_commit(REPO), "dirty": None if dirty is None else bool(dirty),
            "date": f"{datetime.now():%Y-%m-%d %H:%M}"}  # fmt: skip


def _add_segment(run_dir: Path, segment: dict[str, Any]) -> None:
    atomic_write_json(run_dir / SEGMENTS_FILE, [*segments_of(run_dir), segment])


def segments_of(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / SEGMENTS_FILE
    return list(json.loads(path.read_text())) if path.is_file() else []


def train_or_resume(overrides: list[str], seed: int, run_dir: Path) -> bool:
    """Train ``run_dir`` to the end: new, resumed from its checkpoint, or left as it is when finished
    (returns False: nothing trained now)."""
    from workbench.commands.train import run as train
    from workbench.config import compose

    if (run_dir / "eval" / "results.json").is_file():
        print(f"  seed {seed}: finished earlier in {run_dir}", flush=True)
        return False
    if any((run_dir / "checkpoints").glob("step_*.pt")):
        print(f"  seed {seed}: resuming {run_dir}", flush=True)
        cfg = compose("train", [f"resume={run_dir}", "trainer.progress=false"])
    else:
        if run_dir.exists():  # a seed that died before its first checkpoint: start it again
            import shutil

            shutil.rmtree(run_dir)
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        cfg = compose("train", [*overrides, f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=false"])
    segment, tic, cpu = _segment(), time.perf_counter(), _cpu_seconds()
    try:
        train(cfg)
    finally:
        if run_dir.is_dir():
            _add_segment(run_dir, segment)
            _add_wall(run_dir, time.perf_counter() - tic, _cpu_seconds() - cpu)
    return True


def seed_runner(work: Path, row_key: str) -> Any:
    def run_seed(overrides: list[str], seed: int, choice: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
        del choice  # RL rows choose recipes by their validation curves, not acting settings
        run_dir = work / row_key / f"seed_{seed}"
        trained = train_or_resume(overrides, seed, run_dir)
        results = json.loads((run_dir / "eval" / "results.json").read_text())
        config = _resolved_config(run_dir)
        wall, cpu = wall_of(run_dir)
        record = {
            "seed": seed,
            "success_rate": results["success_rate"],
            "mean_return": results["mean_return"],
            "env_steps": results.get("step"),
            "final_policy": results.get("final_policy", "last"),
            "wall_minutes": wall,
            "cpu_minutes": cpu,
            "samples_per_s": _median_metric(run_dir, "train/steps_per_s"),
            "latency_ms": _median_metric(run_dir, "train/plan_ms"),
            "curve": curve(run_dir),
            "config_sha256": config_sha256(config),
            "per_episode": per_episode(results),
            "trained_now": trained,
            "segments": segments_of(run_dir),
        }
        return record, config, results.get("versions")

    return run_seed


def _cells(row: Row, entry: dict[str, Any], verdict: goals.Verdict, stale: Staleness, latency: bool) -> str:
    success, returns = seed_values(entry, "success"), seed_values(entry, "return")
    steps, wall = seed_values(entry, "env_steps"), seed_values(entry, "wall_minutes")
    sps, plan_ms = seed_values(entry, "samples_per_s"), seed_values(entry, "latency_ms")
    scored_by_return = row.goals.min_return is not None  # an env without a success flag (CartPole)
    cells = [
        row.agent,
        row.task,
        row.data,
        row.goal_text(),
        format_percent_ci(mean_ci(success)) if success and not scored_by_return else "",
        format_value_ci(mean_ci(returns), digits=1) if returns else "",
        verdict.text(),
        f"{statistics.fmean(steps):,.0f}" if steps else "",
        f"{statistics.fmean(wall):.1f}" if wall else "",
        f"{statistics.median(sps):.0f}" if sps else "",
        *([f"{statistics.median(plan_ms):.0f}" if plan_ms else ""] if latency else []),
        stale.text(),
    ]
    return "| " + " | ".join(cells) + " |"


def _with_other_suites(suite: Suite, entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``entries`` plus the rows of other suites that goals name as ``<suite>/<row>``."""
    out = dict(entries)
    for row in suite.rows:
        goal = row.goals.fewer_steps
        if goal is not None and "/" in goal.than:
            name, key = goal.than.split("/", 1)
            if name in SUITES:
                found = ResultStore(SUITES[name].store).load_all([key])
                if key in found:
                    out[goal.than] = found[key]
    return out


def render(suite: Suite, store: ResultStore, repo: Path = REPO, where: OnlineSuite = RL) -> str:
    entries = _with_other_suites(suite, store.load_all(suite.row_keys()))
    lines = [f"## {where.title}", ""]
    if suite.intro:
        lines += [suite.intro, ""]
    lines += list(where.header())
    commands = []
    for row in suite.rows:
        entry = entries.get(row.key)
        if entry is None:
            cells = f"| {row.agent} | {row.task} | {row.data} | {row.goal_text()} | not run |"
            lines.append(cells + " |" * (7 if where.latency else 6))
            continue
        stale = entry_staleness(repo, entry, suite.paths_for(row))
        lines.append(_cells(row, entry, goals.check(row, entry, entries), stale, where.latency))
        commands.append(_provenance_line(row, entry, stale))
    notes = [f"- {row.key}: {row.notes}" for row in suite.rows if row.notes]
    return "\n".join([*lines, "", "Commands:", "", *commands, "", "Recipes:", "", *notes])


def plot_curves(suite: Suite, store: ResultStore, out_dir: Path) -> list[Path]:
    """One PNG per measured row: validation success (or return) vs env steps, one line per training
    seed and their mean, from the stored curves (nothing is re-run)."""
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    written = []
    for key, entry in store.load_all(suite.row_keys()).items():
        row = suite.row(key)
        curves = [s.get("curve") or [] for s in entry.get("seeds", [])]
        if not any(curves):
            continue
        use_return = row.goals.min_return is not None  # rows scored by return (CartPole)
        fig, ax = plt.subplots(figsize=(4.2, 2.8), dpi=110)
        for i, points in enumerate(curves):
            if points:
                steps = [p[0] for p in points]
                values = [p[2] if use_return else p[1] for p in points]
                ax.plot(steps, values, color="0.7", lw=1, label="training seeds" if i == 0 else None)
        common = min(len(c) for c in curves if c)
        if common:
            steps = [p[0] for p in next(c for c in curves if c)[:common]]
            values = [statistics.fmean((c[j][2] if use_return else c[j][1]) for c in curves if c)
                      for j in range(common)]  # fmt: skip
            ax.plot(steps, values, color="C0", lw=2, label="mean")
        ax.set_xlabel("env steps")
        ax.set_ylabel("validation return" if use_return else "validation success")
        ax.set_title(f"{row.agent}, {row.task}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def run(
    where: OnlineSuite, selected: list[str] | None, store_path: Path, work: Path, command: str, machine: str
) -> str:
    suite = load_suite(where.rows)
    store = ResultStore(store_path)
    run_rows(where.name, suite, store, selected, command, machine, lambda key: seed_runner(work, key))
    if store_path.resolve() == where.store.resolve():  # the repository's own results: its docs' curves
        plot_curves(suite, store, where.curves)
        if where.compare:
            plot_comparisons(where)
    return render(suite, store, where=where)


def plot_comparisons(where: OnlineSuite) -> list[Path]:
    """One PNG per task of ``where``'s rows: every row of that task (this suite and the others, e.g.
    PETS, TD-MPC and SAC on Push with the dense reward) as its mean validation success vs env steps."""
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    from workbench.bench.goals import mean_curve

    by_task: dict[str, list[tuple[str, list[tuple[int, float]]]]] = {}
    for other in SUITES.values():
        suite = load_suite(other.rows)
        for key, entry in ResultStore(other.store).load_all(suite.row_keys()).items():
            row = suite.row(key)
            points = mean_curve(entry)
            if points:
                by_task.setdefault(row.task, []).append((row.agent, points))
    tasks = {row.task for row in load_suite(where.rows).rows}
    written = []
    for task in sorted(tasks):
        lines = by_task.get(task, [])
        if len(lines) < 2:  # nothing to compare yet
            continue
        fig, ax = plt.subplots(figsize=(4.6, 3.0), dpi=110)
        for label, points in lines:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, lw=1.5, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("env steps")
        ax.set_ylabel("validation success")
        ax.set_title(task, fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        where.curves.mkdir(parents=True, exist_ok=True)
        slug = "_".join("".join(c if c.isalnum() else " " for c in task.lower()).split())
        path = where.curves / f"compare_{slug}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def rerender(where: OnlineSuite) -> str:
    """The suite's section and curves from its stored results (nothing trained)."""
    suite, store = load_suite(where.rows), ResultStore(where.store)
    plot_curves(suite, store, where.curves)
    if where.compare:  # the model-based suite: its agents beside SAC, task by task
        plot_comparisons(where)
    return render(suite, store, where=where)
