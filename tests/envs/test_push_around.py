"""PushAround, the multimodal task: the wall is solid in both simulators, the expert goes around either
end (both modes over seeds, drawn from the episode seed), and averaging the two modes fails."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.tasks import get_task, skills
from envs.tasks.push import CONTACT

SIMS = ["mujoco", "pybullet"]


def _run(env_id: str, seed: int, policy: object) -> tuple[bool, float]:
    """One episode; returns success and the cube's largest lateral offset from the wall's centre line."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    widest, success = 0.0, False
    for _ in range(env.spec.max_episode_steps):  # type: ignore[union-attr]
        obs, _, _, truncated, info = env.step(policy({"state": obs["state"][None]})[0])  # type: ignore[operator]
        offset = float(obs["state"][5] - obs["state"][17])
        widest = offset if abs(offset) > abs(widest) else widest
        success = bool(info["is_success"])
        if success or truncated:
            break
    env.close()
    return success, widest


@pytest.mark.parametrize("sim", SIMS)
def test_the_expert_goes_around_either_end_by_episode_seed(sim: str) -> None:
    env_id = f"wb/PushAround-{sim}-v0"
    expert = envs.make_expert(env_id)
    sides = {}
    for seed in (0, 1):  # the modes of seeds 0 and 1 differ (drawn from the episode seed)
        expert.reset_envs(np.array([True]), [seed])
        mode = int(expert.modes(1)[0])
        success, widest = _run(env_id, seed, expert.act)
        assert success, (sim, seed)
        sides[mode] = np.sign(widest)  # mode 1 passes on the +y side, mode 0 on the -y side
    assert sides == {0: -1.0, 1: 1.0}


def test_modes_are_balanced_and_seeded() -> None:
    expert = envs.make_expert("wb/PushAround-mujoco-v0")
    modes = []
    for seed in range(200):
        expert.reset_envs(np.array([True]), [seed])
        modes.append(int(expert.modes(1)[0]))
    assert 80 < sum(modes) < 120
    expert.reset_envs(np.array([True]), [7])
    again = int(expert.modes(1)[0])
    assert again == modes[7]


@pytest.mark.parametrize("sim", SIMS)
def test_the_wall_blocks_a_straight_push(sim: str) -> None:
    """Pushing straight at the target (what averaging left and right amounts to) fails at the wall."""
    task = get_task("push_around")

    def straight(obs: dict[str, np.ndarray]) -> np.ndarray:
        state = obs["state"].astype(np.float64)
        return skills.push(state[:, 0:3], state[:, 4:7], state[:, 7:10], CONTACT)[:, [0, 1, 2, 4]]

    assert task.expert_modes == 2
    success, _ = _run(f"wb/PushAround-{sim}-v0", 0, straight)
    assert not success
