"""Every BC variant end to end through the real CLI: collect -> train -> eval (tiny budgets).

``agent=bc`` itself is covered by tests/workbench/test_train_e2e.py, plain DAgger by
tests/workbench/test_dagger.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import workbench

COMMON = ["experiment=smoke", "env=wb/Reach-mujoco-v0", "eval.episodes=2", "eval.video=false"]


def _train_then_eval(run: Path, *overrides: str, reload: bool = True) -> dict[str, object]:
    out = workbench("train", *COMMON, *overrides, f"run_dir={run}").stdout
    assert "success_rate" in out and (run / "policy.pt").is_file()
    if reload:  # `workbench eval` rebuilds the agent from the checkpoint alone
        assert "success_rate" in workbench("eval", f"run={run}", "episodes=2", "video=false").stdout
    results: dict[str, object] = json.loads((run / "eval" / "results.json").read_text())
    return results


@pytest.mark.slow
def test_bc_rnn_with_dagger_under_a_label_budget(tmp_path: Path, reach_dataset: Path) -> None:
    from workbench.data import load_meta

    budget = load_meta(reach_dataset)["num_steps"] + 5  # room for part of one rollout only
    run = tmp_path / "rnn"
    _train_then_eval(
        run, f"dataset={reach_dataset}", "agent=bc_rnn", "agent.obs_horizon=3", "agent.rnn_hidden_dim=32",
        "agent.steps=30", "dagger.rounds=2", "dagger.episodes_per_round=2", "dagger.steps_per_round=10",
        "dagger.warm_start=true",
        f"dagger.label_budget={budget}", "dagger.eval_every_round=false",
    )  # fmt: skip
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    # Round 1 fills the budget exactly (its last episode is cut), so round 2 never runs.
    assert [s["round"] for s in summary] == [0, 1] and summary[-1]["labels"] == budget
    assert load_meta(run / "dagger_data")["num_steps"] == budget


@pytest.mark.slow
def test_bc_transformer_with_temporal_ensembling(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "transformer"
    _train_then_eval(
        run, f"dataset={reach_dataset}", "agent=bc_transformer", "agent.obs_horizon=3", "agent.d_model=32",
        "agent.n_layers=1", "agent.action_horizon=4", "agent.temporal_ensemble=true", "agent.steps=30",
        reload=False,  # the rebuild from a checkpoint is the same for every variant (tested above)
    )  # fmt: skip
    config = (run / "config.yaml").read_text()
    assert "backbone: transformer" in config and "temporal_ensemble: true" in config


@pytest.mark.slow
def test_bc_rgb_collect_train_eval(tmp_path: Path) -> None:
    data = tmp_path / "rgb"
    image_env = ["env.obs_mode=rgb+proprio", "env.width=64", "env.height=64"]
    workbench("collect", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio+state", "env.width=64",
              "env.height=64", "episodes=2", "num_envs=2", f"out={data}")  # fmt: skip
    run = tmp_path / "run"
    results = _train_then_eval(
        run, f"dataset={data}", "agent=bc_rgb", *image_env, "agent.encoder.width=8",
        "agent.encoder.num_keypoints=4", "agent.encoder.feature_dim=8", "agent.hidden_dims=[32]",
        "agent.steps=10", "agent.batch_size=8", reload=False,
    )  # fmt: skip
    assert results["episodes"] == 2
    # `workbench eval` rebuilds the agent from the checkpoint alone; then what the policy's camera
    # encoder looks at, over the episode it acted in
    evaluated = workbench("eval", f"run={run}", "episodes=1", "video=false", f"out={tmp_path / 'ev'}").stdout
    assert "success_rate" in evaluated
    explained = tmp_path / "explain"
    workbench("perception", "explain", f"run={run}", f"episodes={tmp_path / 'ev' / 'episodes'}", "every=25",
              f"out={explained}")  # fmt: skip
    assert (explained / "explain.mp4").is_file()
    assert sorted(p.name for p in explained.glob("*.png")) == ["explain_0000.png", "explain_0025.png",
                                                               "explain_0050.png"]  # fmt: skip
