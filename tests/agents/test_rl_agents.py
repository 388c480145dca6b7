"""Contract tests over every online (RL) agent: each trains from the CLI, writes the run directory
every family writes, and its policy file rebuilds the same acting policy; evaluation, video and
replay work on it like on any other agent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.policy_io import load_policy
from agents.registry import AGENTS
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
    "rllib_ppo": ("env=wb/Reach-mujoco-v0", "agent.train_batch_size=128", "agent.minibatch_size=64",
                  "agent.num_epochs=2", "agent.net_arch=[32,32]"),
    "rllib_sac": ("env=wb/Reach-mujoco-v0", "env.obs_mode=goal", "agent.learning_starts=200",
                  "agent.envs_per_runner=1", "agent.net_arch=[32,32]", "agent.train_batch_size=32"),
    # Model-based: a small ensemble and planner (tests/agents/test_model_based.py covers resume).
    "pets": ("env=wb/Push-mujoco-v0", "agent.seed_steps=100", "agent.train_every=100",
             "agent.planner.population=16", "agent.planner.horizon=4", "agent.planner.elites=4",
             "agent.ensemble.hidden_dims=[32,32]", "agent.ensemble.max_steps_per_update=20"),
    "tdmpc": ("env=wb/PickPlace-mujoco-v0", "agent.seed_steps=100", "agent.hidden_dim=32",
              "agent.latent_dim=16", "agent.batch_size=32", "agent.planner.population=32",
              "agent.planner.elites=8", "agent.updates_per_step=0.25"),
}  # fmt: skip


def test_every_online_agent_has_a_setup() -> None:
    assert sorted(SETUPS) == ONLINE


@pytest.mark.slow
@pytest.mark.parametrize("name", ONLINE)
def test_online_agent_trains_evaluates_and_reloads(name: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = workbench(
        "train", f"agent={name}", *SETUPS[name], "agent.steps=256", "trainer.log_every=64",
        "trainer.checkpoint_every=128",
        "eval.episodes=2", "eval.num_envs=2", "eval.video_episodes=1", "eval.video_width=64",
        "eval.video_height=64", f"run_dir={run}",
    ).stdout  # fmt: skip
    assert "success_rate" in out
    for item in ("config.yaml", "policy.pt", "eval/results.json", "checkpoints/latest", "tb"):
        assert (run / item).exists(), item
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [m for m in metrics if "train/steps_per_s" in m]
    assert train[-1]["step"] >= 256 and any("train/ep_return" in m for m in train)
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["episodes"] == 2 and len(results["videos"]) == 1

    # The policy file alone rebuilds the acting policy (no env, no SB3 pickle).
    policy = load_policy(run / "policy.pt")
    payload = torch.load(run / "policy.pt", weights_only=True)
    spec = payload["obs_spec"]
    rng = np.random.default_rng(0)
    obs = {k: rng.normal(size=(3, *s["shape"])).astype(np.float32) for k, s in spec.items()}
    first = policy.act(obs)
    assert first.shape[0] == 3 and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, load_policy(run / "policy.pt").act(obs))

    # SB3's own file, for SB3 users: the same actions from SB3's loader (our own export: trusted).
    from agents.rl.algorithms import ALGORITHMS, algorithm_class

    export = ("export", f"run={run}", "format=sb3", f"out={tmp_path / 'sb3.zip'}")
    if name in ALGORITHMS:
        assert "sb3.zip" in workbench(*export).stdout
        model = algorithm_class(name).load(tmp_path / "sb3.zip", device="cpu")
        sb3_obs = obs["state"] if list(obs) == ["state"] else obs  # a lone `state`: SB3's Box observation
        np.testing.assert_array_equal(model.predict(sb3_obs, deterministic=True)[0], first)
    else:
        refused = workbench(*export, check=False)
        assert refused.returncode == 2 and "exports the SB3 agents" in refused.stderr

    evaluated = workbench("eval", f"run={run}", "episodes=2", "video=false").stdout
    assert "success_rate" in evaluated
    episode = run / "episodes" / "episodes" / "episode_000000.npz"
    replayed = workbench("replay", f"episode={episode}", f"out={tmp_path / 'r.mp4'}", "width=32",
                         "height=32", "verify=true").stdout  # fmt: skip
    assert "verified" in replayed


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["nature_cnn", "resnet18_gn", "vit"])
def test_sb3_agent_from_pixels_uses_the_workbench_encoders(encoder: str, tmp_path: Path) -> None:
    """rgb + proprio observations (the target only in the image): each camera through the chosen
    encoder as SB3's features extractor, random crops in training; the policy file rebuilds it."""
    run = tmp_path / "run"
    workbench(
        "train", "agent=sac", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio", "env.width=48",
        "env.height=48", f"agent.encoder.name={encoder}", "agent.encoder.width=8", "agent.encoder.heads=2",
        "agent.encoder.feature_dim=32", "agent.encoder.crop_ratio=0.9", "agent.steps=150",
        "agent.learning_starts=100", "agent.buffer_size=500", "agent.batch_size=16",
        "agent.net_arch=[32,32]", "eval.episodes=2", "eval.num_envs=2", "eval.video=false", f"run_dir={run}",
    )  # fmt: skip
    policy = load_policy(run / "policy.pt")
    extractor = policy.policy.actor.features_extractor
    assert type(extractor).__name__ == "WorkbenchExtractor" and extractor.config.name == encoder
    assert extractor.crops["rgb/front"] == (43, 43)
    rng = np.random.default_rng(0)
    obs = {"rgb/front": rng.integers(0, 255, (2, 48, 48, 3), dtype=np.uint8),
           "proprio": rng.normal(size=(2, 19)).astype(np.float32)}  # fmt: skip
    np.testing.assert_array_equal(policy.act(obs), load_policy(run / "policy.pt").act(obs))
