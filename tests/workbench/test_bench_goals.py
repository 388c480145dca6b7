"""Benchmark rows as data: parsing the row file, confidence intervals, and checking every goal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from workbench.bench.goals import check
from workbench.bench.rows import Goals, RelativeGoal, Row, RowError, load_suite, parse_suite
from workbench.bench.stats import format_percent_ci, mean_ci, t_quantile_975


def entry(success: list[float], **per_seed: list[float]) -> dict[str, Any]:
    seeds = []
    for i, s in enumerate(success):
        record: dict[str, Any] = {"seed": i, "success_rate": s}
        for key, values in per_seed.items():
            record[key] = values[i]
        seeds.append(record)
    return {"row": "x", "seeds": seeds}


def row(**goals: Any) -> Row:
    return Row("x", "agent", "Push", "demos", ("experiment=push_bc",), goals=Goals(**goals))


def test_mean_ci_matches_the_t_distribution() -> None:
    ci = mean_ci([0.96, 0.98, 0.96])
    # mean 0.9667, s = 0.011547, t(2) = 4.303: half-width 4.303 * 0.011547 / sqrt(3) = 0.02869
    assert ci.mean == pytest.approx(0.966667, abs=1e-6)
    assert ci.half_width == pytest.approx(0.02869, abs=1e-4)
    assert ci.n == 3
    assert format_percent_ci(ci) == "97% [94, 100]"  # 99.5 clipped to 100 at most
    single = mean_ci([0.5])
    assert (single.low, single.high) == (0.5, 0.5) and format_percent_ci(single) == "50%"
    assert t_quantile_975(1) == pytest.approx(12.706)
    assert t_quantile_975(9) == pytest.approx(2.262)
    assert t_quantile_975(100) == pytest.approx(1.96)
    with pytest.raises(ValueError):
        mean_ci([])


def test_success_and_coverage_goals() -> None:
    r = row(min_success=0.85, min_coverage=0.95)
    assert check(r, entry([0.9], mean_max_coverage=[0.97]), {}).status == "met"
    missed = check(r, entry([0.9], mean_max_coverage=[0.94]), {})
    assert missed.status == "missed" and "coverage 0.940 < 0.950" in missed.text()
    pending = check(r, entry([0.9]), {})
    assert pending.status == "pending" and "coverage" in pending.text()


def test_time_and_latency_goals_are_checked() -> None:
    r = row(min_success=0.85, max_wall_minutes=30, max_latency_ms=25)
    ok = entry([0.9], wall_minutes=[23.7], latency_ms=[15.9])
    assert check(r, ok, {}).status == "met"
    slow = check(r, entry([0.9], wall_minutes=[36.5], latency_ms=[15.9]), {})
    assert slow.status == "missed" and "36.5 min > 30 min" in slow.text()
    laggy = check(r, entry([0.9], wall_minutes=[20.0], latency_ms=[31.0]), {})
    assert laggy.status == "missed" and "31.0 ms > 25 ms" in laggy.text()
    # Means over training seeds: one slow seed of three is averaged, not a veto.
    mixed = entry([0.9, 0.9, 0.9], wall_minutes=[20.0, 20.0, 40.0], latency_ms=[10.0, 10.0, 10.0])
    assert check(r, mixed, {}).status == "met"


def test_relative_goal_against_another_row() -> None:
    r = Row(
        "dagger", "dagger", "PickPlace", "labels", ("agent=bc",),
        goals=Goals(relative=(RelativeGoal("bc", by=0.15),)),
    )  # fmt: skip
    bc = entry([0.52, 0.50, 0.54])
    assert check(r, entry([0.70, 0.66, 0.65]), {"bc": bc}).status == "met"
    assert check(r, entry([0.67, 0.67, 0.67]), {"bc": bc}).status == "met"  # exactly +15 points
    missed = check(r, entry([0.51, 0.46, 0.56]), {"bc": bc})
    assert missed.status == "missed" and "-1 points vs bc" in missed.text()
    assert check(r, entry([0.9]), {}).status == "pending"  # baseline not measured yet


def test_rows_without_goals_are_reported_only() -> None:
    r = Row("x", "agent", "Push", "demos", ("agent=bc",))
    assert check(r, entry([0.5]), {}).status == "none"
    assert r.goal_text() == "reported"


def test_goal_text_is_generated_from_the_numbers() -> None:
    r = row(min_success=0.85, min_coverage=0.95, max_wall_minutes=30, max_latency_ms=25)
    assert r.goal_text() == ">= 85% success, coverage >= 0.95, <= 30 min, <= 25 ms"


def test_the_imitation_row_file_parses() -> None:
    suite = load_suite(REPO / "configs" / "bench" / "imitation.yaml")
    assert "bc_state_push" in suite.row_keys() and "dagger_pickplace_20" in suite.row_keys()
    pusht = suite.row("diffusion_state_pusht")
    assert pusht.goals.max_wall_minutes == 30 and pusht.goals.max_latency_ms == 25
    dagger = suite.row("dagger_pickplace_20")
    assert dagger.goals.relative == (RelativeGoal("bc_pickplace_20", 0.15, "success"),)
    assert suite.row("bc_state_push").notes.startswith("The 512x3 MLP")  # notes are data too
    paths = suite.paths_for(suite.row("bc_state_push"))
    assert "configs/experiment/push_bc.yaml" in paths and "agents/imitation/bc.py" in paths
    # Staleness by the files a row's runs import: GAIL's code shapes the GAIL rows, not BC's.
    adversarial = {"agents/imitation/discriminator.py", "workbench/train/adversarial.py"}
    assert not adversarial & set(paths)
    assert adversarial <= set(suite.paths_for(suite.row("gail_reach_20")))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": []}]}, "overrides"),
        ({"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": ["x"]}]}, "key=value"),
        (
            {"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": ["seed=1"]}]},
            "seed=",
        ),
        (
            {"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": ["a=1"],
                       "goals": {"min_success": 95}}]},
            "0.95",
        ),
        (
            {"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": ["a=1"],
                       "goals": {"max_wall": 3}}]},
            "unknown keys",
        ),
        (
            {"rows": [{"key": "a", "agent": "a", "task": "t", "data": "d", "overrides": ["a=1"],
                       "goals": {"relative": [{"than": "nope", "by": 0.1}]}}]},
            "unknown row",
        ),
        ({"rows": [{"key": "a"}]}, "missing keys"),
        ({"nothing": 1}, "rows"),
    ],
)  # fmt: skip
def test_bad_row_files_say_what_to_change(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RowError, match=message):
        parse_suite(data)


def test_unknown_row_names_the_valid_ones(tmp_path: Path) -> None:
    suite = load_suite(REPO / "configs" / "bench" / "imitation.yaml")
    with pytest.raises(RowError, match="valid: bc_state_push"):
        suite.row("nope")


def test_fewer_steps_compares_validation_curves_across_suites() -> None:
    from workbench.bench.rows import StepsGoal

    def curves(*points: list[list[float]]) -> dict[str, Any]:
        return {"row": "y", "seeds": [{"seed": i, "curve": c} for i, c in enumerate(points)]}

    sac = curves([[25000, 0.1, 0], [50000, 0.4, 0], [100000, 0.8, 0]], [[25000, 0.1, 0], [50000, 0.2, 0],
                                                                         [100000, 0.6, 0]])  # fmt: skip
    goal = row(fewer_steps=StepsGoal("rl/sac", at=50000, factor=5))  # SAC's mean at 50k: 30%
    fast = curves([[5000, 0.1, 0], [10000, 0.35, 0]])
    assert check(goal, fast, {"rl/sac": sac}).status == "met"
    slow = curves([[5000, 0.1, 0], [10000, 0.2, 0], [20000, 0.5, 0]])
    verdict = check(goal, slow, {"rl/sac": sac})
    assert verdict.status == "missed" and "at 20,000 steps (budget 10,000)" in verdict.text()
    assert check(goal, fast, {}).status == "pending"  # no SAC curve yet: no verdict
    with pytest.raises(RowError, match="fewer_steps names unknown row"):
        parse_suite({"rows": [{"key": "x", "agent": "a", "task": "t", "data": "d", "overrides": ["a=b"],
                               "goals": {"fewer_steps": {"than": "nope", "at": 10}}}]})  # fmt: skip
