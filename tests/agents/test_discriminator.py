"""Adversarial imitation's discriminators: GAIL's and AIRL's tell expert transitions from policy ones,
their rewards favour the expert's, AIRL's recovered reward g(s) ranks expert states higher, and a
constant entry of the expert data (Reach's gripper) does not break the normaliser."""

from __future__ import annotations

import numpy as np
import torch

from agents.imitation.discriminator import AdversarialDiscriminator, AIRLDiscriminator, Discriminator


def _data(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Expert states around +0.5, policy states around -0.5; the action's last entry constant."""
    rng = np.random.default_rng(seed)

    def batch(centre: float) -> dict[str, np.ndarray]:
        s = rng.normal(centre, 0.1, (512, 3)).astype(np.float32)
        a = np.concatenate([rng.normal(centre, 0.1, (512, 1)), np.ones((512, 1))], 1).astype(np.float32)
        return {"s": s, "a": a, "s_next": s + 0.01, "done": np.zeros(512, np.float32),
                "logp": np.full(512, -1.0, np.float32)}  # fmt: skip

    return batch(0.5), batch(-0.5)


def _fit(
    disc: AdversarialDiscriminator, expert: dict[str, np.ndarray], policy: dict[str, np.ndarray]
) -> dict[str, float]:
    e = {k: torch.as_tensor(v) for k, v in expert.items()}
    p = {k: torch.as_tensor(v) for k, v in policy.items()}
    optim = torch.optim.Adam(disc.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        loss, info = disc.loss(e, p, 1.0, generator)
        optim.zero_grad()
        loss.backward()
        optim.step()
    return info


def test_gail_discriminator_separates_and_rewards_the_expert() -> None:
    torch.manual_seed(0)
    expert, policy = _data(0)
    disc = Discriminator(3, 2, [32, 32])
    disc.set_stats(expert["s"], expert["a"])
    info = _fit(disc, expert, policy)
    assert info["disc_accuracy"] > 0.95 and np.isfinite(info["disc_penalty"])
    r_expert, r_policy = disc.reward(expert), disc.reward(policy)
    assert r_expert.shape == (512,) and np.isfinite(r_expert).all()
    assert r_expert.mean() > 2 * r_policy.mean() and (r_policy >= 0).all()  # softplus: never negative


def test_airl_recovers_a_state_reward_that_ranks_expert_states_higher() -> None:
    torch.manual_seed(0)
    expert, policy = _data(1)
    disc = AIRLDiscriminator(3, [32, 32], gamma=0.99)
    disc.set_stats(expert["s"])
    info = _fit(disc, expert, policy)
    assert info["disc_accuracy"] > 0.95
    assert disc.reward(expert).mean() > disc.reward(policy).mean()
    assert disc.recovered(expert["s"]).mean() > disc.recovered(policy["s"]).mean()
    # Shaping ends with the episode: a terminal transition's f has no h(s') term.
    t = {k: torch.as_tensor(v[:4]) for k, v in expert.items()}
    z = disc.inputs(t)
    t_done = {**t, "done": torch.ones(4)}
    with torch.no_grad():
        h_next = disc.h(z[:, 3:]).squeeze(-1)
        assert torch.allclose(disc.f(z, t) - disc.f(z, t_done), 0.99 * h_next, atol=1e-5)
    # Reward transfer's shaped reward is f without the policy term; reward is f - log pi.
    assert np.allclose(disc.shaped(expert) + 1.0, disc.reward(expert), atol=1e-5)  # logp = -1
