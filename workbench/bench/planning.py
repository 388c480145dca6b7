"""``workbench bench planning``: the time to plan one action on one CPU thread, for each model-based
agent's default configuration (``configs/bench/planning.yaml`` names them and their goals).

Planning cost does not depend on what the weights are, only on the shapes, so each agent is built
from its config and the env's specs with its initial weights. The agents are timed in turn within
each repeat (side by side, so drift on a shared machine hits them alike); the result is the median
over every call of one planned action for a batch of one observation.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from workbench.bench.provenance import staleness
from workbench.bench.store import load_result, save_result

REPO = Path(__file__).resolve().parents[2]
ROWS = REPO / "configs" / "bench" / "planning.yaml"
STORE = REPO / "docs" / "bench" / "planning.json"
SHAPED_BY = [
    "agents/model_based",
    "foundation/ensemble.py",
    "agents/rl/extractor.py",
    "configs/bench/planning.yaml",
]


def _agent(overrides: list[str]) -> tuple[Any, dict[str, np.ndarray]]:
    """The configured agent with initial weights and one observation (batch 1) of its env."""
    from agents.registry import agent_class
    from workbench.config import compose
    from workbench.sampler import env_factory
    from workbench.train.online import env_specs

    cfg = compose("train", overrides)
    factory = env_factory(cfg.env)
    obs_spec, action_spec, _ = env_specs(factory)
    agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec)
    env = factory()
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    return agent, {k: np.asarray(v)[None] for k, v in obs.items()}


def run(repeats: int = 10, calls: int = 10) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    rows = yaml.safe_load(ROWS.read_text())["rows"]
    built = {row["key"]: _agent(list(row["overrides"])) for row in rows}
    times: dict[str, list[float]] = {key: [] for key in built}
    for agent, obs in built.values():  # warm-up: first calls allocate
        for _ in range(3):
            agent.act(obs)
    for _ in range(repeats):
        for key, (agent, obs) in built.items():
            for _ in range(calls):
                tic = time.perf_counter()
                agent.act(obs)
                times[key].append(1000 * (time.perf_counter() - tic))
    results = {}
    for row in rows:
        median = statistics.median(times[row["key"]])
        results[row["key"]] = {"agent": row["agent"], "setting": row["setting"], "median_ms": median,
                               "goal_ms": row.get("max_ms"), "calls": len(times[row["key"]])}  # fmt: skip
    return {"results": results}


def render(result: dict[str, Any], command: str, stamp: str, status: str) -> str:
    lines = [
        "## Planning latency (`workbench bench planning`)",
        "",
        "One planned action for one observation on one thread (torch.set_num_threads(1)), each agent's",
        f"default planner; the agents timed in turn within each repeat. {stamp}; stored result:",
        f"docs/bench/planning.json (commit {status}). Command: `{command}`.",
        "",
        "| agent | setting | median ms | goal | met |",
        "|---|---|---|---|---|",
    ]
    for item in result["results"].values():
        goal = item.get("goal_ms")
        met = "" if goal is None else ("yes" if item["median_ms"] <= goal else "**no**")
        goal_text = "" if goal is None else f"<= {goal:g} ms"
        lines.append(
            f"| {item['agent']} | {item['setting']} | {item['median_ms']:.1f} | {goal_text} | {met} |"
        )
    return "\n".join(lines)


def store(result: dict[str, Any], command: str, machine: str, path: Path = STORE) -> None:
    save_result(path, result, command, machine)


def load(path: Path = STORE) -> dict[str, Any]:
    return load_result(path)


def status(result: dict[str, Any]) -> str:
    return staleness(REPO, result.get("commit"), SHAPED_BY).text()
