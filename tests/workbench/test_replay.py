"""Replay renders what the env showed: a state restored in a fresh env renders like the live one."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import envs  # noqa: F401
from workbench.replay import render_states, verify_actions


def test_render_after_set_state_in_fresh_env_matches_live_env() -> None:
    live = gym.make("wb/Push-mujoco-v0")
    live.reset(seed=7)
    for _ in range(5):
        live.step(np.array([0.5, -0.3, -0.2, -1.0], dtype=np.float32))
    state = live.unwrapped.get_state()
    expected = {cam: live.unwrapped.render_camera(cam, 64, 48) for cam in ("front", "top", "wrist")}
    fresh = gym.make("wb/Push-mujoco-v0")  # never reset: everything must come from the state
    for cam, image in expected.items():
        np.testing.assert_array_equal(render_states(fresh, state[None], cam, 64, 48)[0], image)


def test_verify_detects_divergence() -> None:
    env = gym.make("wb/Reach-mujoco-v0")
    env.reset(seed=0)
    actions = np.tile(np.array([[0.3, 0.2, -0.1, 1.0]], dtype=np.float32), (6, 1))
    states = [env.unwrapped.get_state()]
    for a in actions:
        env.step(a)
        states.append(env.unwrapped.get_state())
    recorded = np.stack(states)
    assert verify_actions(env, recorded, actions).ok
    tampered = actions.copy()
    tampered[3, 0] = -0.3
    check = verify_actions(env, recorded, tampered)
    assert not check.ok and check.first_divergence == 3
