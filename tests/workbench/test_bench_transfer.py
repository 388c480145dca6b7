"""`workbench bench transfer`: the row file is valid, and a row trains once and scores in both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from workbench.bench import transfer
from workbench.bench.store import ResultStore
from workbench.config import compose


def test_rows_parse_and_compose(tmp_path: Path) -> None:
    suite = transfer.load_suite()
    for path in suite.shaped_by:
        assert (REPO / path).exists(), path
    fitted = tmp_path / "sysid.json"
    fitted.write_text(json.dumps({"params": {"friction": 1.1}}))
    for row in suite.rows:
        overrides = [o.replace(transfer.SYSID_TOKEN, str(fitted)) for o in row.overrides]
        cfg = compose("train", overrides)  # every key and value valid
        assert cfg.env.id.split("-")[1] == row.train_sim
        if row.sysid:
            compose("sysid", [f"source={cfg.env.id}", *row.sysid])
    with pytest.raises(ValueError, match="unknown transfer row"):
        suite.row("nope")


@pytest.mark.slow
def test_a_row_trains_once_and_scores_in_both_simulators(tmp_path: Path, reach_dataset: Path) -> None:
    row = transfer.TransferRow(
        key="tiny", policy="state BC", task="Reach", tools="dynamics randomisation", min_ratio=0.0,
        overrides=("experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}",
                   "eval.video=false", "env.randomize.preset=dynamics"), episodes=2,
    )  # fmt: skip
    suite = transfer.TransferSuite((row,), ("envs",), "intro", ["tiny"])
    entry = transfer.run_row(row, suite, tmp_path / "work", videos=tmp_path / "videos")
    seed = entry["seeds"][0]
    assert set(seed["per_episode"]) == {"mujoco", "pybullet"} and len(seed["per_episode"]["pybullet"]) == 2
    assert (tmp_path / "videos" / "tiny_pybullet.mp4").is_file()
    # the evaluations are kept: a second run reuses the trained run and its records
    again = transfer.run_row(row, suite, tmp_path / "work", videos=None)
    assert again["seeds"][0]["per_episode"] == seed["per_episode"]
    store = ResultStore(tmp_path / "store")
    store.save({**entry, "date": "today", "command": "workbench bench transfer", "machine": "here"})
    text = transfer.render(suite, store)
    assert "| state BC | Reach | mujoco | dynamics randomisation | ratio >= 0 |" in text
