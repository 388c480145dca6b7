"""The task reward over states (what planners score imagined states with) equals the env's reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs
from envs.tasks import TASKS


@pytest.mark.parametrize("env_id", ["wb/Reach-mujoco-v0", "wb/Push-mujoco-v0", "wb/PickPlace-pybullet-v0"])
@pytest.mark.parametrize("reward", ["dense", "sparse"])
def test_state_reward_is_the_env_reward(env_id: str, reward: str) -> None:
    env = gym.make(env_id, obs_mode="state", reward=reward)
    task = env.unwrapped.task
    expert = envs.make_expert(env_id)
    obs, _ = env.reset(seed=11)
    expert.reset(seed=11)
    expert.reset_envs(np.ones(1, bool), [11])
    states, rewards, successes = [], [], []
    rng = np.random.default_rng(0)
    for t in range(60):  # the expert, with noise on every other step so rewards vary
        action = expert.act({"state": obs["state"][None]})[0]
        if t % 2:
            action = np.clip(action + rng.normal(0, 0.5, action.shape), -1, 1).astype(np.float32)
        obs, r, terminated, truncated, info = env.step(action)
        states.append(obs["state"])
        rewards.append(r)
        successes.append(info["is_success"])
        if terminated or truncated:
            break
    env.close()
    batch = np.stack(states)  # (T, state_dim)
    np.testing.assert_allclose(task.state_reward(batch, reward), rewards, atol=1e-5)
    np.testing.assert_array_equal(task.state_success(batch), successes)
    as_torch = task.state_reward(torch.from_numpy(batch), reward)  # planners call it on tensors
    np.testing.assert_allclose(as_torch.numpy(), rewards, atol=1e-5)


def test_tasks_without_a_state_reward_say_so() -> None:
    rewarded = {"reach", "push", "pick_place", "push_around"}
    assert {name for name, task in TASKS.items() if task.has_state_reward} == rewarded
    with pytest.raises(NotImplementedError, match="stack"):
        TASKS["stack"].state_reward(np.zeros((2, TASKS["stack"].state_dim)))
