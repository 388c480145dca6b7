"""The notebook API: load a trained run's policy, build its env, act, and score it on test seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import workbench
from tests.conftest import workbench as cli


@pytest.mark.slow
def test_load_policy_make_env_act_and_evaluate(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    cli("train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", f"run_dir={run}",
        "eval.video=false", "eval.episodes=1")  # fmt: skip
    policy = workbench.load_policy(run)
    env = workbench.make_env("wb/Reach-mujoco-v0", obs_mode="state")
    obs, _ = env.reset(seed=1_000_000)
    action = policy.act({k: np.asarray(v)[None] for k, v in obs.items()})[0]
    assert action.shape == env.action_space.shape and env.action_space.contains(action)
    env.close()
    results = workbench.evaluate_policy(policy, "wb/Reach-mujoco-v0", episodes=2, out=tmp_path / "rec")
    assert results["seeds"] == [1_000_000, 1_000_001] and (tmp_path / "rec" / "results.json").is_file()
    with pytest.raises(FileNotFoundError, match="neither a run directory nor a policy file"):
        workbench.load_policy(tmp_path / "missing")
