"""``workbench bench sampler``: env steps/s of the sampler's backends, side by side in one run.

All through the episode API (``Sampler.run``) with the same number of envs in total (2: one per core
of the development machine): ``sync`` (2 envs in one process), ``async`` (2 worker processes),
``ray`` with 1 worker (2 envs) and 2 workers (1 env each). Observations: ``state`` (physics-bound)
and ``rgb`` 84x84 (render-bound). Policy: uniform random actions (costs nothing, so the rates are the
sampler's and the envs'). Each rate is the median of ``repeats`` timed runs after a warm-up run on the
same sampler (start-up, Ray's included, is not counted; it is reported apart); the backends are
timed in turn within each repeat, so drift in the machine's speed hits them alike.

Goals (checked here, stored with the result): on rgb, the better of async and ray at 2 workers
reaches >= 1.6x sync; ray at 1 worker costs <= 1.3x sync (its rate >= sync / 1.3), on each obs mode.

The scaling table runs ``workbench.bench.sleep_env:Sleep-v0`` (each step sleeps a fixed time: a cost
that occupies no core here) on ray with 1, 2, 4 and 8 workers, to show how the backend's own overhead
grows as workers go past this machine's cores.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.bench.store import load_result, save_result

STORE = Path(__file__).resolve().parents[2] / "docs" / "bench" / "sampler.json"
TOTAL_ENVS = 2
# (label, backend, workers)
CONFIGS = (("sync", "sync", 1), ("async", "async", TOTAL_ENVS), ("ray x1", "ray", 1), ("ray x2", "ray", 2))
OBS: dict[str, dict[str, Any]] = {
    "state": {"obs_mode": "state"},
    "rgb 84x84": {"obs_mode": "rgb", "width": 84, "height": 84},
}
GOAL_PARALLEL = 1.6  # rgb: best of async / ray x2 over sync
GOAL_RAY_OVERHEAD = 1.3  # sync rate / ray x1 rate
SLEEP_MS = 2.0
SCALING_WORKERS = (1, 2, 4, 8)


@dataclass
class Rate:
    steps_per_s: float
    startup_s: float
    runs: list[float]


def measure(env_id: str, kwargs: dict[str, Any], backend: str, workers: int, envs: int, episodes: int,
            repeats: int) -> Rate:  # fmt: skip
    from workbench.sampler import EnvFactory, RandomPolicy, Sampler

    factory = EnvFactory(env_id, kwargs)
    probe = factory()
    policy = RandomPolicy(probe.action_space, seed=0)
    probe.close()
    runs = []
    tic = time.perf_counter()
    with Sampler(factory, envs, backend, workers=workers) as sampler:
        sampler.run(policy, range(episodes))  # warm-up: envs (and actors) built, caches filled
        startup = time.perf_counter() - tic
        for r in range(repeats):
            seeds = range((r + 1) * 1000, (r + 1) * 1000 + episodes)
            tic = time.perf_counter()
            done = sampler.run(policy, seeds)
            runs.append(sum(ep.length for ep in done) / (time.perf_counter() - tic))
    return Rate(statistics.median(runs), startup, runs)


def measure_side_by_side(
    env_id: str, kwargs: dict[str, Any], episodes: int, repeats: int
) -> dict[str, Rate]:
    """Every config of :data:`CONFIGS` on live samplers, timed in turn within each repeat, so that a
    machine whose speed drifts (a shared VM) slows every backend alike and the ratios stay fair."""
    from contextlib import ExitStack

    from workbench.sampler import EnvFactory, RandomPolicy, Sampler

    factory = EnvFactory(env_id, kwargs)
    probe = factory()
    policy = RandomPolicy(probe.action_space, seed=0)
    probe.close()
    runs: dict[str, list[float]] = {label: [] for label, _, _ in CONFIGS}
    startup: dict[str, float] = {}
    with ExitStack() as stack:
        samplers = {}
        for label, backend, workers in CONFIGS:
            tic = time.perf_counter()
            samplers[label] = stack.enter_context(Sampler(factory, TOTAL_ENVS, backend, workers=workers))
            samplers[label].run(policy, range(episodes))  # warm-up: envs (and actors) built
            startup[label] = time.perf_counter() - tic
        for r in range(repeats):
            seeds = range((r + 1) * 1000, (r + 1) * 1000 + episodes)
            for label, sampler in samplers.items():
                tic = time.perf_counter()
                done = sampler.run(policy, seeds)
                runs[label].append(sum(ep.length for ep in done) / (time.perf_counter() - tic))
    return {label: Rate(statistics.median(runs[label]), startup[label], runs[label]) for label in runs}


def run(env_id: str = "wb/Push-mujoco-v0", episodes: int = 8, repeats: int = 5) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {}
    for obs_name, kwargs in OBS.items():
        print(f"sampler bench: {obs_name}, {', '.join(c[0] for c in CONFIGS)} side by side ...", flush=True)
        rates = measure_side_by_side(env_id, kwargs, episodes, repeats)
        table[obs_name] = {label: rate.__dict__ for label, rate in rates.items()}
    scaling = {}
    for workers in SCALING_WORKERS:
        print(f"sampler bench: sleep env, ray x{workers} ...", flush=True)
        rate = measure("workbench.bench.sleep_env:Sleep-v0", {"step_ms": SLEEP_MS}, "ray", workers, workers,
                       4 * workers, repeats)  # fmt: skip
        scaling[str(workers)] = rate.__dict__
    return {"env_id": env_id, "episodes": episodes, "repeats": repeats, "total_envs": TOTAL_ENVS,
            "rates": table, "scaling": scaling, "goals": goals(table)}  # fmt: skip


def goals(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The two goals as numbers and verdicts (also re-checked when the stored result is rendered)."""
    rgb = table["rgb 84x84"]
    parallel = max(rgb["async"]["steps_per_s"], rgb["ray x2"]["steps_per_s"]) / rgb["sync"]["steps_per_s"]
    overhead = {
        obs: rows["sync"]["steps_per_s"] / rows["ray x1"]["steps_per_s"] for obs, rows in table.items()
    }
    return {
        "parallel_rgb": parallel,
        "parallel_met": parallel >= GOAL_PARALLEL,
        "ray_overhead": overhead,
        "ray_overhead_met": all(v <= GOAL_RAY_OVERHEAD for v in overhead.values()),
    }


def render(result: dict[str, Any], command: str, stamp: str, status: str) -> str:
    table, g = result["rates"], goals(result["rates"])
    lines = [
        "## Sampler backends (`workbench bench sampler`)",
        "",
        "```",
        command,
        "```",
        f"{stamp}. Stored result: docs/bench/sampler.json (commit {status}).",
        "",
        f"Env steps/s through the episode API on {result['env_id']}, {result['total_envs']} envs in total, "
        f"random actions, median of {result['repeats']} runs of {result['episodes']} episodes after a "
        "warm-up run (start-up not counted; shown apart), the backends timed in turn in each repeat.",
        "",
        "| obs | "
        + " | ".join(label for label, _, _ in CONFIGS)
        + " | best parallel / sync | sync / ray x1 |",
        "|---|" + "---|" * (len(CONFIGS) + 2),
    ]
    for obs, rows in table.items():
        rates = " | ".join(f"{rows[label]['steps_per_s']:.0f}" for label, _, _ in CONFIGS)
        best = max(rows["async"]["steps_per_s"], rows["ray x2"]["steps_per_s"]) / rows["sync"]["steps_per_s"]
        lines.append(f"| {obs} | {rates} | {best:.2f}x | {g['ray_overhead'][obs]:.2f}x |")
    startup = ", ".join(f"{label} {table['state'][label]['startup_s']:.1f} s" for label, _, _ in CONFIGS)
    verdict = {True: "met", False: "**missed**"}
    lines += [
        "",
        f"Start-up (building the envs, and Ray's actors; state): {startup}.",
        "",
        f"- Goal: on rgb, async or ray at 2 workers >= {GOAL_PARALLEL}x sync: "
        f"{g['parallel_rgb']:.2f}x, {verdict[g['parallel_met']]}.",
        f"- Goal: ray at 1 worker costs <= {GOAL_RAY_OVERHEAD}x sync: "
        + ", ".join(f"{obs} {v:.2f}x" for obs, v in g["ray_overhead"].items())
        + f", {verdict[g['ray_overhead_met']]}.",
        "",
        f"### Simulated scaling: ray workers over an env whose step costs {SLEEP_MS:.0f} ms of another core",
        "",
        "`Sleep-v0` sleeps instead of computing, so its cost occupies no core of this machine (as if",
        "each worker ran on its own core elsewhere); one env per worker, 4 episodes of 50 steps per",
        "worker. Ideal = workers x the 1-worker rate.",
        "",
        "| workers | env steps/s | speed-up | ideal | efficiency |",
        "|---|---|---|---|---|",
    ]
    base = result["scaling"]["1"]["steps_per_s"]
    for workers, rate in result["scaling"].items():
        speedup = rate["steps_per_s"] / base
        lines.append(
            f"| {workers} | {rate['steps_per_s']:.0f} | {speedup:.2f}x | {int(workers)}x | "
            f"{speedup / int(workers):.0%} |"
        )
    return "\n".join(lines)


def store(result: dict[str, Any], command: str, machine: str, path: Path = STORE) -> None:
    save_result(path, result, command, machine)


def load(path: Path = STORE) -> dict[str, Any]:
    return load_result(path)
