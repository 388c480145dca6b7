"""Evaluation records: never overwritten, never on training seeds, traceable, and acting overrides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import workbench, workbench_fails


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()


def _fails(*args: str) -> str:
    return workbench_fails(*args)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, reach_dataset: Path) -> Path:
    run = tmp_path_factory.mktemp("records") / "run"
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}",
        f"run_dir={run}", "eval.video=false",
    )  # fmt: skip
    return run


@pytest.mark.slow
def test_eval_writes_new_records_and_never_touches_earlier_ones(trained: Path) -> None:
    before = _digest(trained / "eval")
    for _ in range(2):
        workbench(
            "eval", f"run={trained}", "episodes=2", "video_episodes=1", "video_width=32", "video_height=32"
        )
    records = sorted(p.name for p in (trained / "eval").iterdir() if p.name.startswith("step_00000200_test"))
    assert records == ["step_00000200_test_s1000000_n2", "step_00000200_test_s1000000_n2-2"]
    assert (trained / "eval" / "results.json").is_file()
    first = json.loads((trained / "eval" / records[0] / "results.json").read_text())
    second = json.loads((trained / "eval" / records[1] / "results.json").read_text())
    assert first["per_episode"] == second["per_episode"]  # same seeds, same policy, same episodes
    # Everything that was there before is byte-identical (the run's own evaluation included).
    current = {p.relative_to(trained / "eval") for p in (trained / "eval").rglob("*") if p.is_file()}
    assert all(not str(p).startswith("step_00000200_test") or p.parts[0] in records for p in current)
    assert before != _digest(trained / "eval")  # new records were added ...
    for name in records:  # ... and each holds its own videos and episodes
        assert list((trained / "eval" / name / "videos").glob("*.mp4"))
        assert (trained / "eval" / name / "episodes" / "meta.json").is_file()


@pytest.mark.slow
def test_results_record_provenance_and_per_episode_results(trained: Path) -> None:
    out = trained.parent / "record"
    workbench("eval", f"run={trained}", "episodes=2", "num_envs=2", "video=false", f"out={out}")
    results = json.loads((out / "results.json").read_text())
    keys = ("commit", "dirty", "config_hash", "num_envs", "checkpoint", "versions", "split", "first_seed")
    for key in keys:
        assert key in results, key
    assert results["num_envs"] == 2 and results["split"] == "test"
    # The record is staged and renamed: its paths are relative to the record directory.
    assert results["episodes_dir"] == "episodes" and (out / "episodes" / "meta.json").is_file()
    assert {"torch", "mujoco", "pybullet", "gymnasium", "stable-baselines3"} <= set(results["versions"])
    assert [e["seed"] for e in results["per_episode"]] == results["seeds"]
    assert set(results["per_episode"][0]) >= {"seed", "success", "return", "length"}


@pytest.mark.slow
def test_out_pointing_at_a_dataset_is_refused_and_the_dataset_survives(
    trained: Path, reach_dataset: Path
) -> None:
    before = _digest(reach_dataset)
    assert "never overwritten" in _fails("eval", f"run={trained}", "episodes=2", f"out={reach_dataset}")
    assert _digest(reach_dataset) == before


@pytest.mark.slow
def test_training_seeds_are_refused_unless_allowed(trained: Path) -> None:
    line = _fails("eval", f"run={trained}", "episodes=3", "seed=0", "video=false")
    assert "seeds 0, 1, 2 appear in the training data" in line and "allow_train_seeds=true" in line
    workbench("eval", f"run={trained}", "episodes=1", "seed=0", "allow_train_seeds=true", "video=false")


@pytest.mark.slow
def test_acting_overrides_apply_and_are_recorded(trained: Path) -> None:
    out = trained.parent / "acting"
    workbench(
        "eval", f"run={trained}", "episodes=1", "video=false", f"out={out}", "agent.execute_horizon=1",
    )  # fmt: skip
    assert json.loads((out / "results.json").read_text())["acting_overrides"] == {"execute_horizon": 1}
    assert "cannot be changed at evaluation" in _fails("eval", f"run={trained}", "agent.hidden_dims=[8]")
    assert "exceeds agent.action_horizon" in _fails("eval", f"run={trained}", "agent.execute_horizon=9")


@pytest.mark.slow
def test_resume_without_a_checkpoint_logs_no_step_twice(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}",
        f"run_dir={run}", "eval.video=false", "eval.episodes=1",
    )  # fmt: skip
    # As if killed before its first checkpoint: metrics were logged, no checkpoint or policy exists.
    for path in [*(run / "checkpoints").iterdir(), run / "policy.pt", run / "eval" / "results.json"]:
        path.unlink()
    workbench("train", f"resume={run}")
    lines = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [ln["step"] for ln in lines if "train/loss" in ln]
    assert steps == sorted(set(steps)) and steps[-1] == 200
