"""The rollout engine: per-episode seeds independent of the number of envs, filters, labels."""

from __future__ import annotations

import numpy as np

import envs
from workbench.sampler import EnvFactory, RandomPolicy, rollout

FACTORY = EnvFactory("wb/Reach-mujoco-v0", {"obs_mode": "state"})


def _first_states(episodes: list) -> dict[int, np.ndarray]:
    return {ep.seed: ep.sim_states[0] for ep in episodes}


def test_episode_seeds_do_not_depend_on_num_envs() -> None:
    one = rollout(FACTORY, envs.make_expert("wb/Reach-mujoco-v0"), episodes=5, seed=10, num_envs=1)
    three = rollout(FACTORY, envs.make_expert("wb/Reach-mujoco-v0"), episodes=5, seed=10, num_envs=3)
    assert sorted(ep.seed for ep in one) == sorted(ep.seed for ep in three) == [10, 11, 12, 13, 14]
    a, b = _first_states(one), _first_states(three)
    for seed in a:
        np.testing.assert_array_equal(a[seed], b[seed])
    for ep in one:
        assert ep.actions.shape == (ep.length, 4)
        assert ep.obs["state"].shape[0] == ep.length + 1 == ep.sim_states.shape[0]
        assert ep.success and ep.terminated


def test_keep_filter_and_labels() -> None:
    import gymnasium as gym

    random = RandomPolicy(gym.make("wb/Reach-mujoco-v0").action_space, seed=0)
    seen = []
    kept = rollout(
        FACTORY,
        random,
        episodes=2,
        seed=0,
        num_envs=2,
        label_policy=envs.make_expert("wb/Reach-mujoco-v0"),
        keep=lambda ep: not ep.success,
        on_episode=seen.append,
    )
    assert len(kept) == 2 and seen == kept
    for ep in kept:
        assert not ep.success
        assert ep.expert_actions is not None and ep.expert_actions.shape == ep.actions.shape
        assert not np.allclose(ep.expert_actions, ep.actions)


def test_passthrough_env_without_state_or_dict_obs() -> None:
    import gymnasium as gym

    space = gym.make("wb/CartPole-v1").action_space
    policy = RandomPolicy(space, seed=0)
    episodes = rollout(EnvFactory("wb/CartPole-v1"), policy, episodes=3, seed=0, num_envs=2)
    for ep in episodes:
        assert ep.sim_states is None
        assert ep.obs["state"].shape == (ep.length + 1, 4)
        assert set(np.unique(ep.actions)) <= {0.0, 1.0}
