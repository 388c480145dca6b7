"""ACT: the CVAE's latent captures which mode a demonstration took. Trained on chunks that go either
up or down from the same observations, sampled latents give chunks of both modes (not their mean,
which is what MSE behaviour cloning learns), z = 0 gives one deterministic chunk, and the draws are
seeded per episode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.imitation.act import ACTAgent
from agents.imitation.act_config import ACTConfig

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}


def _train_bimodal(latent: str, steps: int = 200) -> ACTAgent:
    torch.manual_seed(0)
    config = ACTConfig(
        d_model=32, n_heads=2, encoder_layers=1, decoder_layers=1, latent_dim=4, kl_weight=0.1,
        action_horizon=4, execute_horizon=4, dropout=0.0, latent=latent,
    )  # fmt: skip
    agent = ACTAgent(config, OBS_SPEC, ACTION_SPEC)
    n = 256
    states = torch.rand(n, 1, 3) * 0.1
    sign = torch.where(torch.rand(n) < 0.5, 1.0, -1.0)  # the hidden mode of each demonstration
    actions = (0.8 * sign)[:, None, None].expand(n, 4, 2).clone()
    batch = {"obs/state": states, "action": actions, "action_is_pad": torch.zeros(n, 4, dtype=torch.bool)}
    optim = torch.optim.Adam(agent.parameters(), lr=3e-3)
    for _ in range(steps):
        loss, info = agent.compute_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert np.isfinite(info["kl"]) and (steps < 200 or info["recon"] < 0.3)
    return agent


def test_sampled_latents_give_both_modes_not_their_mean() -> None:
    agent = _train_bimodal("prior")
    obs = {"state": np.full((1, 3), 0.05, dtype=np.float32)}
    firsts = []
    for seed in range(40):
        agent.reset()
        agent.reset_envs(np.array([True]), [seed])
        firsts.append(float(agent.act(obs)[0, 0]))
    firsts_arr = np.array(firsts)
    assert (firsts_arr > 0.4).sum() >= 5 and (firsts_arr < -0.4).sum() >= 5, firsts_arr.round(2)
    assert np.abs(firsts_arr).mean() > 0.5  # decisions, not the 0 an average of the modes would give
    agent.reset()
    agent.reset_envs(np.array([True]), [3])
    again = float(agent.act(obs)[0, 0])
    assert again == firsts[3]  # the draw depends on the episode seed only


def test_zero_latent_acts_deterministically_and_config_errors_name_the_key() -> None:
    agent = _train_bimodal("zero", steps=20)
    obs = {"state": np.full((2, 3), 0.05, dtype=np.float32)}
    first = agent.act(obs)
    agent.reset()
    np.testing.assert_array_equal(agent.act(obs), first)
    with pytest.raises(ValueError, match=r"agent\.latent"):
        ACTConfig(latent="posterior")
    with pytest.raises(ValueError, match=r"agent\.kl_weight"):
        ACTConfig(kl_weight=-1.0)
