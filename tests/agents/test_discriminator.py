"""GAIL's discriminator: it learns to tell expert pairs from policy pairs, its reward is higher on the
expert's, and a constant entry of the expert data (Reach's gripper) does not break its normaliser."""

from __future__ import annotations

import numpy as np
import torch

from agents.imitation.discriminator import Discriminator


def test_discriminator_separates_expert_from_policy_and_rewards_the_expert() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    expert_s, expert_a = rng.normal(0.5, 0.1, (512, 3)), np.ones((512, 1))  # constant action entry
    policy_s, policy_a = rng.normal(-0.5, 0.1, (512, 3)), np.ones((512, 1))
    disc = Discriminator(3, 1, [32, 32])
    disc.set_stats(expert_s, expert_a)
    expert = torch.as_tensor(np.concatenate([expert_s, expert_a], 1), dtype=torch.float32)
    policy = torch.as_tensor(np.concatenate([policy_s, policy_a], 1), dtype=torch.float32)
    optim = torch.optim.Adam(disc.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        loss, info = disc.loss(expert, policy, 1.0, generator)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert info["disc_accuracy"] > 0.95 and np.isfinite(info["disc_penalty"])
    r_expert = disc.reward(expert_s.astype(np.float32), expert_a.astype(np.float32))
    r_policy = disc.reward(policy_s.astype(np.float32), policy_a.astype(np.float32))
    assert r_expert.shape == (512,) and np.isfinite(r_expert).all()
    assert r_expert.mean() > 2 * r_policy.mean() and (r_policy >= 0).all()  # softplus: never negative
