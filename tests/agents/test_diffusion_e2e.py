"""Diffusion Policy end to end through the real CLI: collect -> train -> eval -> video (tiny budgets).

`workbench eval run=...` must rebuild the policy from the checkpoint alone and act with the EMA
weights, exactly as the final evaluation of `workbench train` did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import workbench

TINY = ["agent.down_dims=[16,32]", "agent.step_embed_dim=16", "agent.num_inference_steps=3",
        "agent.steps=20", "agent.batch_size=16", "agent.warmup_steps=2"]  # fmt: skip
COMMON = ["experiment=smoke", "env=wb/Reach-mujoco-v0", "eval.episodes=2"]


@pytest.mark.slow
def test_state_diffusion_train_eval_rebuilds_the_ema_policy(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    out = workbench("train", *COMMON, "agent=diffusion", *TINY, f"dataset={reach_dataset}",
                    f"run_dir={run}").stdout  # fmt: skip
    assert "success_rate" in out and (run / "policy.pt").is_file()
    trained = json.loads((run / "eval" / "results.json").read_text())
    assert trained["videos"] and all((run / "eval" / v).stat().st_size > 500 for v in trained["videos"])

    policy = torch.load(run / "policy.pt", weights_only=True)
    assert policy["agent"] == "diffusion" and int(policy["state_dict"]["ema.updates"]) == 20
    # The EMA copy differs from the raw weights after 20 updates: evaluation must use the EMA copy.
    raw = policy["state_dict"]["model.denoiser.final.1.weight"]
    assert not torch.equal(raw, policy["state_dict"]["ema.averaged.denoiser.final.1.weight"])

    workbench("eval", f"run={run}", "episodes=2", "video=false")
    rebuilt = json.loads((run / "eval" / "results.json").read_text())
    assert rebuilt["seeds"] == trained["seeds"]
    for key in ("success_rate", "mean_return", "mean_length"):
        assert rebuilt[key] == trained[key], key  # same weights, same sampling noise, same episodes


@pytest.mark.slow
def test_image_diffusion_collect_train_eval(tmp_path: Path) -> None:
    data = tmp_path / "rgb"
    workbench("collect", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio+state", "env.width=64",
              "env.height=64", "episodes=2", "num_envs=2", f"out={data}")  # fmt: skip
    run = tmp_path / "run"
    out = workbench(
        "train", *COMMON, "agent=diffusion_image", "env.obs_mode=rgb+proprio", "env.width=64",
        "env.height=64", f"dataset={data}", f"run_dir={run}", *TINY, "agent.steps=6", "agent.batch_size=4",
        "agent.encoder.width=8", "agent.encoder.num_keypoints=4", "agent.encoder.feature_dim=8",
        "eval.video=false",
    ).stdout  # fmt: skip
    assert "success_rate" in out
    config = (run / "config.yaml").read_text()
    assert "rgb/front" in config and "denoiser: unet" in config
