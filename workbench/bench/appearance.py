"""``workbench bench appearance``: how alike the two engines' observation frames look, and the fit of
PyBullet's light to MuJoCo's.

An image policy trained in one engine sees the other's frames at deployment, so the gap between the
engines' frames of the same layout is what visual transfer has to cross. Measured as the mean
absolute difference (grey levels, 0-255) between MuJoCo's and PyBullet's agentview frames (84 px, the
image policies' size) of the same layouts at reset, for each task. PyBullet's TinyRenderer lights a
surface by ``ambient + diffuse * max(0, n.l)``; ``LIGHT_AMBIENT`` and ``LIGHT_DIFFUSE``
(envs/pybullet/scene.py) are fitted here by a grid search on Push's fitting layouts, and the gap is
reported on other layouts for every task, beside TinyRenderer's defaults (0.6, 0.35).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from workbench.bench.provenance import staleness
from workbench.bench.store import load_result, save_result

REPO = Path(__file__).resolve().parents[2]
STORE = REPO / "docs" / "bench" / "appearance.json"
SHAPED_BY = ["envs/pybullet/scene.py", "envs/mujoco/scene.py", "envs/scene_spec.py",
             "workbench/bench/appearance.py"]
TASKS = ("Reach", "Push", "PickPlace", "Stack", "PushT", "Tabletop")
DEFAULTS = (0.6, 0.35)  # TinyRenderer's own ambient and diffuse coefficients
FIT_SEEDS = range(2000, 2006)  # layouts the light is fitted on
REPORT_SEEDS = range(3000, 3010)  # other layouts, where the gap is reported
GRID = (np.round(np.arange(0.5, 1.25, 0.1), 2), np.round(np.arange(0.0, 0.85, 0.1), 2))


@contextmanager
def pybullet_light(ambient: float, diffuse: float) -> Iterator[None]:
    """PyBullet envs built inside render with these coefficients (the module's constants, restored)."""
    import envs.pybullet.scene as sc

    saved = sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE
    sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE = ambient, diffuse
    try:
        yield
    finally:
        sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE = saved


def frames(env_id: str, seeds: range, size: int = 84) -> np.ndarray:
    """(N, size, size, 3) float: the agentview frame at reset of each seed's layout."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the envs)

    env = gym.make(env_id, obs_mode="rgb", cameras=["agentview"], width=size, height=size)
    try:
        return np.stack([np.asarray(env.reset(seed=s)[0]["rgb/agentview"], dtype=np.float64) for s in seeds])
    finally:
        env.close()


def pybullet_gap(mujoco: np.ndarray, task: str, seeds: range, light: tuple[float, float]) -> float:
    """Mean absolute pixel difference (grey levels) between ``mujoco``'s frames of ``seeds`` and
    PyBullet's, lit with ``light`` (ambient, diffuse)."""
    with pybullet_light(*light):
        return float(np.abs(frames(f"wb/{task}-pybullet-v0", seeds) - mujoco).mean())


def gap(task: str, seeds: range, light: tuple[float, float] | None = None) -> float:
    """``pybullet_gap`` against MuJoCo's frames of the same layouts (``light`` None: the workbench's)."""
    import envs.pybullet.scene as sc

    light = light or (sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE)
    return pybullet_gap(frames(f"wb/{task}-mujoco-v0", seeds), task, seeds, light)


def run() -> dict[str, Any]:
    import envs.pybullet.scene as sc

    mujoco = frames("wb/Push-mujoco-v0", FIT_SEEDS)
    fit = [
        (pybullet_gap(mujoco, "Push", FIT_SEEDS, (float(a), float(d))), float(a), float(d))
        for a, d in itertools.product(*GRID)
    ]
    best = min(fit)
    current = (sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE)
    tasks = {}
    for task in TASKS:  # MuJoCo's frames rendered once, compared under both lights
        reference = frames(f"wb/{task}-mujoco-v0", REPORT_SEEDS)
        tasks[task] = {light_name: pybullet_gap(reference, task, REPORT_SEEDS, light)
                       for light_name, light in (("defaults", DEFAULTS), ("current", current))}  # fmt: skip
    return {
        "fit": {"gap": best[0], "ambient": best[1], "diffuse": best[2], "seeds": list(FIT_SEEDS),
                "grid": [g.tolist() for g in GRID]},
        "current": {"ambient": current[0], "diffuse": current[1]},
        "report_seeds": list(REPORT_SEEDS),
        "tasks": tasks,
    }  # fmt: skip


def store(result: dict[str, Any], command: str, machine: str, path: Path = STORE) -> None:
    save_result(path, result, command, machine)


def load(path: Path = STORE) -> dict[str, Any]:
    return load_result(path)


def render(result: dict[str, Any]) -> str:
    fit, current = result["fit"], result["current"]
    status = staleness(REPO, result.get("commit"), SHAPED_BY).text()
    lines = [
        "## Appearance across engines (`workbench bench appearance`)",
        "",
        "Mean absolute difference (grey levels, 0-255) between MuJoCo's and PyBullet's agentview frames",
        "(84 px) of the same layouts at reset, seeds "
        f"{result['report_seeds'][0]}-{result['report_seeds'][-1]}, with TinyRenderer's default light "
        f"({DEFAULTS[0]}, {DEFAULTS[1]}) and with the light the workbench uses ({current['ambient']:g}, "
        f"{current['diffuse']:g}): the grid search's best on Push seeds {fit['seeds'][0]}-{fit['seeds'][-1]} "
        f"was ambient {fit['ambient']:g}, diffuse {fit['diffuse']:g} (gap {fit['gap']:.1f}). "
        f"{result['date']}, {result['machine']}; stored result docs/bench/appearance.json (commit {status}). "
        f"Command: `{result['command']}`.",
        "",
        "| task | default light | fitted light |",
        "|---|---|---|",
    ]
    for task, row in result["tasks"].items():
        lines.append(f"| {task} | {row['defaults']:.1f} | {row['current']:.1f} |")
    return "\n".join(lines)
