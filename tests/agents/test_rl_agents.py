"""Contract tests over every online (RL) agent: each trains from the CLI, writes the run directory
every family writes, and its policy file rebuilds the same acting policy; evaluation, video and
replay work on it like on any other agent (tests/agents/online_contract.py). The model-based agents and
RLlib PPO meet the same contract in the tests that already train them (their exact resume, RLlib's kill
and resume), so they are not trained twice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.policy_io import load_policy
from agents.registry import AGENTS
from tests.agents.online_contract import assert_online_contract
from tests.agents.test_model_based import RUNS as MODEL_BASED_RUNS
from tests.conftest import workbench

ONLINE = sorted(name for name, spec in AGENTS.items() if spec.family == "online")
# A small run each: DQN on the discrete controller, HER for the off-policy continuous agents.
SB3_SMALL = ("agent.batch_size=32", "agent.net_arch=[32,32]")
SETUPS = {
    "dqn": ("env=wb/Reach-mujoco-v0", "env.controller=discrete", "agent.learning_starts=50", *SB3_SMALL),
    "ppo": ("env=wb/Reach-pybullet-v0", "agent.n_steps=64", "agent.num_envs=2", "backend=async", *SB3_SMALL),
    "sac": ("env=wb/Push-mujoco-v0", "env.obs_mode=goal", "agent.her=true", "agent.learning_starts=100",
            *SB3_SMALL),
    "td3": ("env=wb/Reach-mujoco-v0", "agent.learning_starts=50", *SB3_SMALL),
    "tqc": ("env=wb/PickPlace-mujoco-v0", "env.obs_mode=goal", "agent.her=true", "agent.learning_starts=200",
            "agent.num_envs=2", *SB3_SMALL),
    # RLlib: EnvRunner actors on a local Ray; SAC's updates are slow on a CPU, so few of them.
    "rllib_sac": ("env=wb/Reach-mujoco-v0", "env.obs_mode=goal", "agent.learning_starts=200",
                  "agent.envs_per_runner=1", "agent.net_arch=[32,32]", "agent.train_batch_size=32"),
}  # fmt: skip


# Agents whose contract is checked on a run another test trains anyway.
ELSEWHERE = {**dict.fromkeys(MODEL_BASED_RUNS, "tests/agents/test_model_based.py"),
             "rllib_ppo": "tests/workbench/test_online.py"}  # fmt: skip


def test_every_online_agent_has_a_setup() -> None:
    assert sorted([*SETUPS, *ELSEWHERE]) == ONLINE and not set(SETUPS) & set(ELSEWHERE)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SETUPS))
def test_online_agent_trains_evaluates_and_reloads(name: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = workbench(
        "train", f"agent={name}", *SETUPS[name], "agent.steps=256", "trainer.log_every=64",
        "trainer.checkpoint_every=128",
        "eval.episodes=2", "eval.num_envs=2", "eval.video_episodes=1", "eval.video_width=64",
        "eval.video_height=64", f"run_dir={run}",
    ).stdout  # fmt: skip
    assert "success_rate" in out
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) >= 256
    assert_online_contract(name, run, tmp_path, episodes=2, videos=1)


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["nature_cnn", "resnet18_gn", "vit"])
def test_sb3_agent_from_pixels_uses_the_workbench_encoders(encoder: str, tmp_path: Path) -> None:
    """rgb + proprio observations (the target only in the image): each camera through the chosen
    encoder as SB3's features extractor, random crops in training; the policy file rebuilds it.
    NatureCNN runs with DrQ's wiring (one encoder trained by the critic), the others with SB3's."""
    run = tmp_path / "run"
    drq = encoder == "nature_cnn"
    workbench(
        "train", "agent=sac", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio", "env.width=48",
        "env.height=48", f"agent.encoder.name={encoder}", "agent.encoder.width=8", "agent.encoder.heads=2",
        "agent.encoder.feature_dim=32", "agent.encoder.crop_ratio=0.9", "agent.steps=150",
        "agent.learning_starts=100", "agent.buffer_size=500", "agent.batch_size=16",
        "agent.net_arch=[32,32]", "eval.episodes=2", "eval.num_envs=2", "eval.video=false", f"run_dir={run}",
        f"agent.share_features_extractor={str(drq).lower()}",
    )  # fmt: skip
    policy = load_policy(run / "policy.pt")
    assert type(policy.policy).__name__ == ("DrQSACPolicy" if drq else "MultiInputPolicy")
    assert (policy.policy.critic.features_extractor is policy.policy.actor.features_extractor) == drq
    extractor = policy.policy.actor.features_extractor
    assert type(extractor).__name__ == "WorkbenchExtractor" and extractor.config.name == encoder
    assert extractor.crops["rgb/front"] == (43, 43)
    rng = np.random.default_rng(0)
    obs = {"rgb/front": rng.integers(0, 255, (2, 48, 48, 3), dtype=np.uint8),
           "proprio": rng.normal(size=(2, 19)).astype(np.float32)}  # fmt: skip
    np.testing.assert_array_equal(policy.act(obs), load_policy(run / "policy.pt").act(obs))
