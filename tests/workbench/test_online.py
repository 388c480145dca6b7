"""The online trainer end to end: SB3 agents killed with SIGKILL mid-episode and resumed end with the
weights and evaluation of the uninterrupted run (DQN on CartPole, SAC+HER on Reach, GAIL with PPO on
Reach: the discriminator, its optimizer and its generator resume too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.online_contract import assert_online_contract
from tests.conftest import assert_train_refused, workbench
from tests.reliability.test_signals import assert_same_weights, faulty, weights

QUIET = ("trainer.progress=false", "eval.video=false", "eval.episodes=4")
CASES = {
    # 2 envs: rows finish episodes at different times, so the kill leaves each mid-episode.
    "dqn_cartpole": ("agent=dqn", "env=wb/CartPole-v1", "agent.steps=1000", "agent.learning_starts=200",
                     "agent.num_envs=2", "agent.target_update_interval=250", "trainer.checkpoint_every=300"),
    "sac_her_reach": ("agent=sac", "agent.her=true", "env=wb/Reach-mujoco-v0", "env.obs_mode=goal",
                      "env.reward=sparse", "agent.steps=400", "agent.learning_starts=100",
                      "agent.batch_size=64", "agent.net_arch=[64,64]", "trainer.checkpoint_every=150"),
    "gail_reach": ("agent=gail", "env=wb/Reach-mujoco-v0", "agent.steps=384", "agent.num_envs=2",
                   "agent.n_steps=64", "agent.batch_size=64", "demos.episodes=2",
                   "adversarial.replay=200", "trainer.checkpoint_every=128"),  # replay: resumed too
}  # fmt: skip
# Past a checkpoint, mid-episode, with a target update / learning start / discriminator step behind
KILL_AT = {"dqn_cartpole": 737, "sac_her_reach": 233, "gail_reach": 200}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_sigkill_and_resume_is_exact(case: str, tmp_path: Path) -> None:
    args = (*CASES[case], *QUIET)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    workbench("train", *args, f"run_dir={straight}")
    proc = faulty(f"kill:{KILL_AT[case]}", "train", *args, f"run_dir={killed}")
    assert proc.returncode == -9, proc.stderr
    assert not (killed / "policy.pt").exists()
    out = workbench("train", f"resume={killed}").stdout
    assert "resuming" in out and "step_" in out
    assert_same_weights(weights(straight), weights(killed))
    ra, rb = (json.loads((run / "eval" / "results.json").read_text()) for run in (straight, killed))
    for key in ("success_rate", "mean_return", "mean_length", "seeds"):
        assert ra[key] == rb[key], key
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps), "metrics.jsonl repeats steps after resume"


def test_online_config_errors_are_one_line(tmp_path: Path) -> None:
    cases = {
        ("agent=sac", "agent.n_steps=64"): "unknown config key 'agent.n_steps'",
        ("agent=dqn", "env=wb/Reach-mujoco-v0"): "env.controller=discrete",
        ("agent=sac", "agent.her=true", "env=wb/Reach-mujoco-v0"): "env.obs_mode=goal",
        ("agent=sac", "env=wb/CartPole-v1"): "agent=dqn or agent=ppo",
        ("agent=sac", "backend=ray"): "backend=sync or backend=async",
        ("agent=ppo", "agent.batch_size=999", "agent.n_steps=64"): "exceeds one rollout",
        ("agent=sac", "agent.ent_coef=lots"): "agent.ent_coef='lots' is not valid",
        (
            "agent=sac",
            "agent.her=true",
            "env=wb/Reach-mujoco-v0",
            "env.obs_mode=goal",
            "agent.num_envs=3",
        ): "set agent.learning_starts>=150",
        ("agent=gail", "env=wb/CartPole-v1"): "no scripted expert",
        ("agent=dqn", "adversarial.method=gail", "env.controller=discrete"): "continuous actions",
        ("agent=gail", "adversarial.method=maxent"): "adversarial.method='maxent' is not one of",
        ("agent=gail", "env.obs_mode=rgb"): "adversarial.obs_key='state' is not observed",
        ("agent=sac", "adversarial.method=airl"): "agent=ppo, not sac",
        ("agent=ppo", "adversarial.method=learned"): "needs adversarial.reward_from=RUN",
        ("agent=ppo", "adversarial.method=learned", f"adversarial.reward_from={tmp_path}",
         "adversarial.transfer=f"): "adversarial.transfer='f' is not one of",
        ("agent=ppo", "adversarial.method=learned", f"adversarial.reward_from={tmp_path}",
         "env.obs_mode=rgb"): "adversarial.obs_key='state' is not observed",
        ("agent=ppo", "adversarial.method=learned", f"adversarial.reward_from={tmp_path}"): "no reward.pt",
    }
    assert_train_refused(cases, tmp_path)


@pytest.mark.slow
def test_rllib_run_killed_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """RLlib's resume is RLlib's own (not exact), but a killed run continues from its checkpoint,
    with RLlib's algorithm state restored from the run's rllib/ folder, and finishes."""
    run = tmp_path / "run"
    args = ("train", "agent=rllib_ppo", "env=wb/Reach-mujoco-v0", "agent.steps=1500",
            "agent.train_batch_size=250", "agent.minibatch_size=125", "agent.num_epochs=2",
            "trainer.checkpoint_every=500", *QUIET, f"run_dir={run}")  # fmt: skip
    proc = faulty("kill:1000", *args)
    assert proc.returncode == -9, proc.stderr
    latest = (run / "checkpoints" / "latest").read_text().strip()  # RLlib steps past 1000 a little
    assert [p.name + ".pt" for p in (run / "rllib").iterdir()] == [latest]
    out = workbench("train", f"resume={run}").stdout
    assert f"resuming {run} from {latest}" in out
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] >= 1500 and (run / "policy.pt").is_file()
    # the resumed run meets every online agent's contract (rllib_ppo's: tests/agents/test_rl_agents.py)
    assert_online_contract("rllib_ppo", run, tmp_path, episodes=4, videos=0)


def test_airl_writes_a_recovered_reward_a_fresh_policy_trains_on(tmp_path: Path) -> None:
    """AIRL's run writes reward.pt; `adversarial.method=learned` trains PPO on it (reward transfer), its
    logged episode returns still the env's."""
    quick = ("env=wb/Reach-mujoco-v0", "agent.steps=256", "agent.num_envs=2", "agent.n_steps=64",
             "agent.batch_size=64", "trainer.eval_every=0", "eval.episodes=2", *QUIET[:2])  # fmt: skip
    airl, transfer = tmp_path / "airl", tmp_path / "transfer"
    workbench("train", "agent=airl", "demos.episodes=2", *quick, f"run_dir={airl}")
    assert (airl / "reward.pt").is_file()
    metrics = [json.loads(line) for line in (airl / "metrics.jsonl").read_text().splitlines()]
    assert any("train/disc_accuracy" in m for m in metrics)
    # the recovered reward's agreement with the env's (never trained on) is logged as it learns
    assert all(-1.0 <= m["train/recovered_corr"] <= 1.0 for m in metrics if "train/disc_accuracy" in m)
    workbench("train", "agent=ppo", "adversarial.method=learned", f"adversarial.reward_from={airl}", *quick,
              f"run_dir={transfer}")  # fmt: skip
    results = json.loads((transfer / "eval" / "results.json").read_text())
    assert results["episodes"] == 2 and not (transfer / "demos").exists()  # no expert data used


def test_the_discriminators_replay_is_a_uniform_sample_of_every_transition() -> None:
    """`adversarial.replay=N`: reservoir sampling keeps N transitions, each of the stream equally
    likely, so the first iterations' states are as present at the end as the last ones'."""
    from types import SimpleNamespace

    import torch

    from workbench.train.adversarial import AdversarialTrainer

    trainer = AdversarialTrainer.__new__(AdversarialTrainer)  # the replay alone, no env or algorithm
    trainer.adv = SimpleNamespace(replay=1000)  # type: ignore[assignment]
    trainer.replay, trainer.seen, trainer.disc_generator = {}, 0, torch.Generator().manual_seed(0)
    for iteration in range(50):  # 50 iterations of 200 transitions
        trainer.add_to_replay({"s": torch.arange(iteration * 200, (iteration + 1) * 200).float()[:, None]})
    kept = trainer.replay["s"][:, 0]
    assert len(kept) == 1000 and trainer.seen == 10_000 and len(kept.unique()) == 1000
    counts = torch.histc(kept, bins=5, min=0, max=10_000)  # 200 expected per fifth of the stream
    assert counts.min() > 150 and counts.max() < 250, counts
