"""``workbench bench train``: idle vs busy side by side, the ratio and its goal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from workbench.bench import busy
from workbench.bench.busy import Condition, Measurement, TrainBench


def m(condition: str, wall_s: float, steps: float, busy_n: int = 0) -> Measurement:
    return Measurement(condition, busy_n, 0, wall_s, steps, 0.92, 1, 0.5)


def test_the_row_file_parses() -> None:
    bench = busy.load_train_bench(REPO / "configs" / "bench" / "train.yaml")
    assert bench.conditions[0] == Condition("idle", 0) and bench.conditions[1].busy == 1
    assert bench.max_busy_ratio == 1.5


def test_bad_row_files_say_what_to_change(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="first condition must be idle"):
        TrainBench(conditions=(Condition("busy", 1),))
    path = tmp_path / "train.yaml"
    path.write_text("steps: 3\n")
    with pytest.raises(ValueError, match="unknown keys"):
        busy.load_train_bench(path)


def test_probe_conditions_report_throughput_only() -> None:
    probe = Condition("busy_torch_threads", 1, ("threads=2", "agent.steps=1000"))
    bench = TrainBench(conditions=(Condition("idle"), probe))
    measured = [m("idle", 60.0, 300.0), m("busy_torch_threads", 600.0, 15.0, 1)]
    text = busy.render(measured, bench, "c", "t")
    expected = "**busy_torch_threads** (`threads=2 agent.steps=1000`, busy=1): training steps/s 0.05x idle's"
    assert expected in text
    assert "wall time 10.00x" not in text
    with pytest.raises(ValueError, match="no overrides"):
        TrainBench(conditions=(Condition("idle", 0, ("threads=2",)),))


def test_ratio_and_goal_in_the_rendered_section() -> None:
    bench = TrainBench(min_success=0.9, max_wall_minutes=5)
    text = busy.render(
        [m("idle", 60.0, 300.0), m("busy", 66.0, 280.0, 1)], bench, "workbench bench train", "today"
    )
    assert "| idle | 0 | 1 | 0.5 | 92% | 1.00 | 300 |" in text
    assert "**busy / idle: wall time 1.10x, training steps/s 0.93x idle's**" in text
    assert "(goal: <= 1.5x wall time: met)" in text
    assert ">= 90% success (92%: met)" in text and "< 5 minutes idle (1.00: met)" in text
    slow = busy.render([m("idle", 60.0, 300.0), m("busy", 600.0, 10.0, 1)], bench, "c", "t")
    assert "wall time 10.00x" in slow and "missed" in slow


def test_spinning_processes_are_started_and_killed() -> None:
    with busy.spinning(1) as procs:
        assert len(procs) == 1 and procs[0].poll() is None
    time.sleep(0.1)
    assert procs[0].poll() is not None


def test_a_tiny_measurement_beside_a_busy_process() -> None:
    overrides = [
        "experiment=smoke",
        "agent.steps=20",
        "demos.episodes=2",
        "eval.episodes=2",
        "eval.video=false",
    ]
    result = busy.measure(overrides, Condition("busy", 1), seed=0)
    assert result.condition == "busy" and result.wall_s > 0 and result.threads == 1
    assert result.steps_per_s is not None and result.steps_per_s > 0
