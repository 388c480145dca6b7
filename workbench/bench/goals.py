"""Checking a row's goals against its stored result: every goal, not only success.

Each goal compares the mean over training seeds with its threshold. A relative goal (DAgger >= BC +
15 points) needs the other row's result too; without it the verdict is ``pending``, not a guess.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from workbench.bench.rows import Row
from workbench.bench.store import seed_values

VERDICTS = ("met", "missed", "pending", "none")


@dataclass(frozen=True)
class Verdict:
    """``met``/``missed`` with the goals that failed, ``pending`` (a value is missing), ``none``."""

    status: str
    failed: tuple[str, ...] = field(default_factory=tuple)
    missing: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"status={self.status!r}; use one of {', '.join(VERDICTS)}")

    def text(self) -> str:
        if self.status == "met":
            return "yes"
        if self.status == "missed":
            return "**no**: " + "; ".join(self.failed)
        if self.status == "pending":
            return "pending: no " + ", ".join(self.missing)
        return ""


def _mean(entry: dict[str, Any], metric: str) -> float | None:
    values = seed_values(entry, metric)
    return statistics.fmean(values) if values else None


def seeds_passing(goals: Any, entry: dict[str, Any], failed: list[str], missing: list[str]) -> None:
    """The per-seed form: at least ``seeds_passing`` training seeds each meet success and return."""
    thresholds = {"success": goals.min_success, "return": goals.min_return}
    columns = {m: seed_values(entry, m) for m, t in thresholds.items() if t is not None}
    if any(not values for values in columns.values()):
        missing.extend(m for m, values in columns.items() if not values)
        return
    seeds = len(entry.get("seeds", []))
    passing = sum(
        all(columns[m][i] >= thresholds[m] for m in columns)
        for i in range(min(len(v) for v in columns.values()))
    )
    if passing < goals.seeds_passing:
        failed.append(f"{passing} of {seeds} seeds reach it (need {goals.seeds_passing})")


def mean_curve(entry: dict[str, Any]) -> list[tuple[int, float]]:
    """(env steps, validation success) averaged over the training seeds, at the steps every seed has."""
    curves = [{int(p[0]): float(p[1]) for p in seed.get("curve") or []} for seed in entry.get("seeds", [])]
    if not curves or not all(curves):
        return []
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    return [(s, statistics.fmean(c[s] for c in curves)) for s in steps]


def fewer_steps(goal: Any, entry: dict[str, Any], base: dict[str, Any] | None, failed: list[str],
                missing: list[str]) -> None:  # fmt: skip
    """The row's curve must reach the base row's success at ``goal.at`` within ``goal.at / factor``."""
    mine, theirs = mean_curve(entry), mean_curve(base) if base is not None else []
    reference = [v for s, v in theirs if s <= goal.at]
    if not mine or not reference or theirs[-1][0] < goal.at:
        missing.append(f"curve of {goal.than} to {goal.at:,} steps" if mine else "curve")
        return
    target = reference[-1]
    reached = next((s for s, v in mine if v >= target), None)
    budget = goal.at / goal.factor
    if reached is None or reached > budget:
        where = "never" if reached is None else f"at {reached:,} steps"
        failed.append(f"reaches {goal.than}'s {target:.0%} {where} (budget {budget:,.0f})")


def check(row: Row, entry: dict[str, Any], others: dict[str, dict[str, Any]]) -> Verdict:
    """Check ``row``'s goals against ``entry``; ``others`` holds the other rows' results by key."""
    goals = row.goals
    if goals.empty():
        return Verdict("none")
    failed: list[str] = []
    missing: list[str] = []

    def at_least(metric: str, threshold: float | None, fmt: str) -> None:
        if threshold is None:
            return
        value = _mean(entry, metric)
        if value is None:
            missing.append(metric)
        elif value < threshold:
            shown = format(value, fmt)
            if shown == format(threshold, fmt):  # 94.7% printed as 95% would read "95% < 95%"
                shown = format(value, fmt.replace(".0", ".1").replace(".3", ".4"))
            failed.append(f"{metric} {shown} < {format(threshold, fmt)}")

    def at_most(metric: str, threshold: float | None, unit: str) -> None:
        if threshold is None:
            return
        value = _mean(entry, metric)
        if value is None:
            missing.append(metric)
        elif value > threshold:
            failed.append(f"{value:.1f} {unit} > {threshold:g} {unit}")

    if goals.seeds_passing is not None:
        seeds_passing(goals, entry, failed, missing)
    else:
        at_least("success", goals.min_success, ".0%")
        at_least("return", goals.min_return, ".1f")
    at_least("coverage", goals.min_coverage, ".3f")
    at_most("wall_minutes", goals.max_wall_minutes, "min")
    at_most("latency_ms", goals.max_latency_ms, "ms")
    for goal in goals.relative:
        mine = _mean(entry, goal.metric)
        base_entry = others.get(goal.than)
        base = _mean(base_entry, goal.metric) if base_entry is not None else None
        if mine is None or base is None:
            missing.append(f"{goal.metric} of {goal.than}" if base is None else goal.metric)
        elif mine < base + goal.by - 1e-12:  # 0.67 vs 0.52 + 0.15 must count as met
            gain = (mine - base) * (100 if goal.metric == "success" else 1)
            unit = " points" if goal.metric == "success" else ""
            failed.append(f"{gain:+.0f}{unit} vs {goal.than}" if unit else f"{gain:+.3g} vs {goal.than}")
    if goals.fewer_steps is not None:
        fewer_steps(goals.fewer_steps, entry, others.get(goals.fewer_steps.than), failed, missing)
    if failed:
        return Verdict("missed", tuple(failed), tuple(missing))
    if missing:
        return Verdict("pending", (), tuple(missing))
    return Verdict("met")
