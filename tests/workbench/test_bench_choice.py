"""A bench row's acting setting is chosen on validation seeds and scored once on the row's test seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import workbench
from workbench.bench.imitation import choose_on_validation, score_choice_on_test
from workbench.bench.rows import Choice, RowError, parse_choice


@pytest.mark.slow
def test_choice_uses_validation_then_the_rows_test_seeds(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", f"run_dir={run}",
        "agent.action_horizon=4", "agent.execute_horizon=4", "eval.video=false", "eval.episodes=1",
        "eval.seed=1100000",
    )  # fmt: skip
    choice = choose_on_validation(run, Choice("execute_horizon", (1, 2), episodes=2))
    assert choice["split"] == "validation" and choice["chosen"] in (1, 2)
    for score in choice["scores"]:
        record = run / "eval" / f"choose_execute_horizon_{score['value']}" / "results.json"
        assert json.loads(record.read_text())["first_seed"] == 1_500_000  # validation seeds
    test = score_choice_on_test(run, choice)
    assert test["first_seed"] == 1_100_000
    assert test["acting_overrides"] == {"execute_horizon": choice["chosen"]}


def test_choice_rows_are_validated() -> None:
    parsed = parse_choice({"key": "execute_horizon", "values": [2, 4]}, "row r")
    assert parsed == Choice("execute_horizon", (2, 4))
    with pytest.raises(RowError, match="unknown keys"):
        parse_choice({"key": "execute_horizon", "values": [2], "split": "test"}, "row r")
