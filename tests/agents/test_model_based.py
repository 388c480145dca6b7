"""Model-based RL: the ensemble fits a known system, the planners find a known optimum, PETS trains,
evaluates, replays and resumes exactly from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.model_based.config import EnsembleConfig, PlannerConfig
from agents.model_based.dynamics import DynamicsEnsemble
from agents.model_based.latent_planner import LatentMPPI
from agents.model_based.planners import make_planner
from agents.model_based.tdmpc_config import LatentPlannerConfig
from agents.policy_io import load_policy
from tests.agents.online_contract import assert_online_contract
from tests.conftest import assert_train_refused, workbench
from tests.reliability.test_signals import assert_same_weights, faulty, weights


def test_ensemble_learns_a_known_linear_system() -> None:
    """s' = s + 0.1 * (A s + B a) + small noise: the elites' predicted deltas match the true ones."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    s_dim, a_dim, n = 4, 2, 3000
    a_mat, b_mat = torch.randn(s_dim, s_dim) * 0.3, torch.randn(s_dim, a_dim)
    states, actions = torch.randn(n, s_dim), torch.rand(n, a_dim) * 2 - 1
    deltas = 0.1 * (states @ a_mat.T + actions @ b_mat.T) + 0.001 * torch.randn(n, s_dim)
    cfg = EnsembleConfig(members=3, elites=2, hidden_dims=[64, 64], max_epochs=40, max_steps_per_update=3000)
    model = DynamicsEnsemble(s_dim, a_dim, cfg, learn_reward=False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    metrics = model.fit(torch.cat([states, actions], 1), deltas, opt, gen)
    assert metrics["model_holdout_mse"] < 0.02  # normalised units: the deltas' variance is 1
    assert len(model.elites) == 2
    test_s, test_a = torch.randn(200, s_dim), torch.rand(200, a_dim) * 2 - 1
    true_next = test_s + 0.1 * (test_s @ a_mat.T + test_a @ b_mat.T)
    with torch.no_grad():
        pred, _ = model.sample(test_s.expand(2, -1, -1), test_a.expand(2, -1, -1), torch.zeros(2, 200, s_dim))
    err = (pred - true_next).abs().mean() / (true_next - test_s).abs().mean()
    assert err < 0.1, f"relative delta error {err:.3f}"


@pytest.mark.parametrize("name", ["cem", "mppi", "latent_mppi"])
def test_planners_find_the_optimum_of_a_quadratic(name: str) -> None:
    """max -||a - a*||^2 over (B=2, H=5, A=3) sequences: each row's plan reaches its own optimum."""
    target = torch.tensor(np.random.default_rng(0).uniform(-0.8, 0.8, (2, 5, 3)), dtype=torch.float32)

    def objective(actions: torch.Tensor) -> torch.Tensor:  # (B, N, H, A) -> (B, N)
        return -((actions - target[:, None]) ** 2).sum(dim=(2, 3))

    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    if name == "latent_mppi":  # TD-MPC's: elites refit with softmax weights, policy-prior samples
        latent = LatentMPPI(LatentPlannerConfig(horizon=5, population=300, iterations=8, elites=30,
                                                temperature=0.5, prior_samples=10))  # fmt: skip
        prior = torch.zeros(2, 10, 5, 3)  # a poor prior must not keep the plan from the optimum
        plan, std = latent.plan(objective, torch.zeros(2, 5, 3), gens, prior)
        assert std.shape == plan.shape
    else:
        planner = make_planner(PlannerConfig(name=name, horizon=5, population=300, iterations=8, elites=30))
        plan = planner.plan(objective, torch.zeros(2, 5, 3), gens)
    assert (plan - target).abs().max() < 0.1, (plan - target).abs().max()


COMMON = ("env=wb/Reach-mujoco-v0", "agent.steps=240", "agent.seed_steps=80", "agent.num_envs=2",
          "trainer.checkpoint_every=100", "trainer.progress=false", "eval.video=false", "eval.episodes=2",
          "eval.num_envs=2")  # fmt: skip
RUNS = {
    "pets": ("agent=pets", "agent.train_every=80", "agent.planner.population=32", "agent.planner.horizon=5",
             "agent.planner.elites=4", "agent.ensemble.hidden_dims=[32,32]",
             "agent.ensemble.max_steps_per_update=40", "agent.planner.iterations=1", *COMMON),
    "tdmpc": ("agent=tdmpc", "agent.hidden_dim=32", "agent.latent_dim=16", "agent.batch_size=32",
              "agent.planner.population=32", "agent.planner.elites=8", "agent.planner.prior_samples=4",
              "agent.updates_per_step=0.25", "agent.planner.iterations=1", *COMMON),
}  # fmt: skip
LEARNING_METRIC = {"pets": "train/model_nll", "tdmpc": "train/consistency_loss"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_model_based_agent_trains_evaluates_replays_and_resumes_exactly(name: str, tmp_path: Path) -> None:
    """A kill mid-episode (2 rows, after the first learning) and a resume: the uninterrupted run's
    weights and evaluation."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    workbench("train", *RUNS[name], f"run_dir={straight}")
    results = json.loads((straight / "eval" / "results.json").read_text())
    assert results["episodes"] == 2 and 0.0 <= results["success_rate"] <= 1.0
    metrics = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert any("train/plan_ms" in m for m in metrics) and any(LEARNING_METRIC[name] in m for m in metrics)
    # the policy file reloads into a planner that scores states as in training
    assert "success_rate" in workbench("eval", f"run={straight}", "episodes=2", "video=false").stdout
    assert_online_contract(name, straight, tmp_path, episodes=2, videos=0)  # every online agent's, replay too
    # SIGKILL mid-episode (2 rows, after the first model fit), then resume: the same weights and results
    proc = faulty("kill:157", "train", *RUNS[name], f"run_dir={killed}")
    assert proc.returncode == -9, proc.stderr
    out = workbench("train", f"resume={killed}").stdout
    assert "resuming" in out
    assert_same_weights(weights(straight), weights(killed))
    again = json.loads((killed / "eval" / "results.json").read_text())
    for key in ("success_rate", "mean_return", "seeds"):
        assert results[key] == again[key], key


def test_pets_config_errors_are_one_line(tmp_path: Path) -> None:
    cases = {
        ("agent=pets", "env=wb/Stack-mujoco-v0"): "agent.reward=learned",
        ("agent=pets", "env=wb/CartPole-v1"): "is not one",
        ("agent=pets", "env.obs_mode=rgb", "env.cameras=[front]"): "env.obs_mode=state",
        ("agent=pets", "agent.particles=7"): "multiple of agent.ensemble.elites",
        ("agent=pets", "agent.planner.name=ilqr"): "agent.planner.name='ilqr'",
        ("agent=pets", "backend=ray"): "backend=sync or backend=async",
    }
    assert_train_refused(cases, tmp_path)


@pytest.mark.slow
def test_tdmpc_from_pixels_uses_the_workbench_encoders(tmp_path: Path) -> None:
    """rgb + proprio (the target only in the image): a camera encoder as the latent's input, random
    crops in training; the policy file rebuilds it and acts."""
    run = tmp_path / "run"
    workbench("train", "agent=tdmpc", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio",
              "env.cameras=[front]", "env.width=48", "env.height=48", "agent.obs_keys=[rgb/front,proprio]",
              "agent.steps=120",
              "agent.seed_steps=60", "agent.hidden_dim=32", "agent.latent_dim=16", "agent.batch_size=16",
              "agent.encoder.feature_dim=16", "agent.planner.population=16", "agent.planner.elites=4",
              "agent.planner.prior_samples=2", "agent.updates_per_step=0.25", "agent.target_encoder=true",
              "trainer.progress=false", "eval.video=false", "eval.episodes=1", f"run_dir={run}")  # fmt: skip
    policy = load_policy(run / "policy.pt")
    obs = {"rgb/front": np.zeros((2, 48, 48, 3), np.uint8), "proprio": np.zeros((2, 19), np.float32)}
    actions = policy.act(obs)
    assert actions.shape == (2, 4) and np.all(np.abs(actions) <= 1)
    state = policy.state_dict()
    assert any(k.startswith("model.features.cameras") for k in state)
    # The EMA encoder is its own copy, trailing the online one after training (not equal to it).
    online = {k[len("model.features.") :]: v for k, v in state.items() if k.startswith("model.features.")}
    target = {k[len("model.target_encoder.0."):]: v for k, v in state.items()
              if k.startswith("model.target_encoder.0.")}  # fmt: skip
    assert online.keys() == target.keys() and online
    assert any(not torch.equal(online[k], target[k]) for k in online)
