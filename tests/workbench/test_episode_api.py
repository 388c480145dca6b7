"""The episode API: one record per requested seed, and a stochastic policy's episodes independent
of how many envs run side by side (per-episode noise generators)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from agents.imitation.diffusion import DiffusionAgent
from agents.registry import AGENTS
from workbench.dataset import SequenceDataset
from workbench.sampler import EnvFactory, Sampler

FACTORY = EnvFactory("wb/Reach-mujoco-v0", {"obs_mode": "state", "max_episode_steps": 12})


def test_one_record_per_requested_seed_in_request_order() -> None:
    import envs

    with Sampler(FACTORY, num_envs=2) as sampler:
        episodes = sampler.run(envs.make_expert("wb/Reach-mujoco-v0"), [7, 3, 11])
        again = sampler.run(envs.make_expert("wb/Reach-mujoco-v0"), [3])  # the sampler is reused
    assert [ep.seed for ep in episodes] == [7, 3, 11]
    np.testing.assert_array_equal(again[0].actions, episodes[1].actions)


def test_diffusion_episodes_do_not_depend_on_num_envs(reach_dataset: Path) -> None:
    """Guaranteed up to float summation order in batched matmuls: compared at 1e-5."""
    from workbench.data import load_meta

    meta = load_meta(reach_dataset)
    config = AGENTS["diffusion"].config(
        action_horizon=4, execute_horizon=2, obs_horizon=2, num_inference_steps=3, down_dims=[16, 32]
    )
    data = SequenceDataset(reach_dataset, config.obs_keys, config.obs_horizon, config.action_horizon)
    torch.manual_seed(0)
    agent = DiffusionAgent(config, meta["obs_spec"], meta["action_spec"], data.stats).eval()
    seeds = [1_000_000, 1_000_001, 1_000_002]
    runs = []
    for num_envs in (1, 3):
        with Sampler(FACTORY, num_envs=num_envs) as sampler:
            runs.append(sampler.run(agent, seeds))
    for one, three in zip(*runs, strict=True):
        assert one.seed == three.seed and one.length == three.length
        np.testing.assert_allclose(one.actions, three.actions, atol=1e-5)
