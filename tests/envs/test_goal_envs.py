"""The goal-conditioned view (obs_mode=goal) and sparse rewards: what SB3's HER needs, on both
simulators; the reward of every step is compute_reward of its goals, success is the goal distance."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs

GOAL_TASKS = ("Reach", "Push", "PickPlace")
IDS = [envs.env_id(t, s) for t in GOAL_TASKS for s in ("mujoco", "pybullet")]


@pytest.mark.parametrize("env_id", IDS)
def test_goal_env_passes_sb3_check_env(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env

    env = gym.make(env_id, obs_mode="goal", reward="sparse")
    check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", ["wb/Reach-mujoco-v0", "wb/Push-pybullet-v0", "wb/PickPlace-mujoco-v0"])
def test_goal_observation_leaves_the_desired_goal_out(env_id: str) -> None:
    """HER relabels desired_goal: the observation must not carry the episode's own target."""
    env = gym.make(env_id, obs_mode="goal")
    state_env = gym.make(env_id, obs_mode="state")
    task = env.unwrapped.task
    obs, _ = env.reset(seed=5)
    state, _ = state_env.reset(seed=5)
    kept = [task.state_names[i] for i in task.goal_observation_index]
    assert kept and not any("target" in name for name in kept)
    assert env.observation_space["observation"].shape == (len(kept),)
    np.testing.assert_array_equal(obs["observation"], state["state"][list(task.goal_observation_index)])
    env.close()
    state_env.close()


@pytest.mark.parametrize("env_id", ["wb/Reach-mujoco-v0", "wb/Push-pybullet-v0", "wb/PickPlace-mujoco-v0"])
@pytest.mark.parametrize("reward", ["sparse", "dense"])
def test_rewards_are_compute_reward_of_the_goals(env_id: str, reward: str) -> None:
    env = gym.make(env_id, obs_mode="goal", reward=reward)
    base = env.unwrapped
    state_env = gym.make(env_id, obs_mode="state")  # the expert acts on the state; same seed, same layout
    expert = envs.make_expert(env_id)
    obs, _ = env.reset(seed=3)
    state, _ = state_env.reset(seed=3)
    expert.reset(seed=3)
    expert.reset_envs(np.ones(1, bool), [3])
    goals, rewards = [], []
    for _ in range(40):
        action = expert.act({"state": state["state"][None]})[0]
        obs, r, terminated, truncated, info = env.step(action)
        state, *_ = state_env.step(action)
        distance = base.task.goal_distance(obs["achieved_goal"], obs["desired_goal"])
        assert info["is_success"] == bool(distance < base.task.success_radius)
        goals.append((obs["achieved_goal"], obs["desired_goal"]))
        rewards.append(r)
        if terminated or truncated:
            break
    achieved, desired = (np.stack(g) for g in zip(*goals, strict=True))
    np.testing.assert_allclose(base.compute_reward(achieved, desired, {}), rewards, rtol=1e-6)
    if reward == "sparse":
        assert set(np.unique(rewards)) <= {-1.0, 0.0}
    else:
        assert all(r <= 0 for r in rewards)  # minus a distance
    if env_id == "wb/Reach-mujoco-v0":  # the expert reaches: the last step is a success
        assert info["is_success"] and (reward == "dense" or rewards[-1] == 0.0)


def test_sparse_reward_in_state_mode_and_tasks_without_a_goal_view() -> None:
    env = gym.make("wb/Reach-mujoco-v0", reward="sparse")
    assert not hasattr(env.unwrapped, "compute_reward")  # only goal envs look like goal envs to checkers
    env.reset(seed=0)
    _, r, *_ = env.step(env.action_space.sample())
    assert r == -1.0
    with pytest.raises(ValueError, match="no goal-conditioned view"):
        gym.make("wb/Stack-mujoco-v0", obs_mode="goal")
    with pytest.raises(ValueError, match="reward"):
        gym.make("wb/Reach-mujoco-v0", reward="shaped")


def test_sb3_sac_with_her_trains_on_the_goal_env() -> None:
    from stable_baselines3 import SAC, HerReplayBuffer

    env = gym.make("wb/Reach-mujoco-v0", obs_mode="goal", reward="sparse")
    model = SAC(
        "MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
        learning_starts=100, batch_size=32, policy_kwargs={"net_arch": [32, 32]}, seed=0, device="cpu",
    )  # fmt: skip
    model.learn(total_timesteps=150)
    assert model.replay_buffer is not None and model.replay_buffer.size() > 0
    action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
