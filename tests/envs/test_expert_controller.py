"""Scripted experts and ``env.controller``: an expert drives only the controllers its task lists
(``Task.expert_controllers``); ``envs.check_expert_controller`` / ``envs.make_expert`` refuse the rest up
front with a one-line error, and an accepted combination acts in the env's own action space."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import pytest

import envs
from envs.controllers import CONTROLLERS


@pytest.mark.parametrize("env_id", envs.TASK_ENV_IDS)
def test_every_controller_is_accepted_or_refused_in_one_line(env_id: str) -> None:
    task = envs.tasks.get_task(envs.task_of(env_id))
    assert envs.check_expert_controller(env_id) == task.default_controller
    for controller in CONTROLLERS:
        if controller in task.expert_controllers:
            assert envs.check_expert_controller(env_id, controller) == controller
            continue
        with pytest.raises(ValueError) as err:
            envs.check_expert_controller(env_id, controller)
        message = str(err.value)
        assert "\n" not in message
        assert env_id in message and f"env.controller={controller}" in message
        assert f"use env.controller={task.default_controller} or dataset=DIR" in message


def test_make_expert_refuses_what_the_expert_cannot_drive() -> None:
    with pytest.raises(ValueError, match=r"wb/Push-mujoco-v0 drives ee_delta or ee_delta_yaw; "
                                         r"env\.controller=joint_pos cannot be used for expert demos"):
        envs.make_expert("wb/Push-mujoco-v0", controller="joint_pos")
    with pytest.raises(ValueError, match=r"env\.controller=discrete"):
        envs.make_expert("wb/Reach-pybullet-v0", controller="discrete")
    # PushT's expert turns the T with the hand: ee_delta would drop its yaw.
    with pytest.raises(ValueError, match=r"drives ee_delta_yaw; env\.controller=ee_delta"):
        envs.make_expert("wb/PushT-mujoco-v0", controller="ee_delta")
    with pytest.raises(ValueError, match="invalid controller 'torque'"):
        envs.check_expert_controller("wb/Push-mujoco-v0", "torque")


@pytest.mark.parametrize("sim", ["mujoco", "pybullet"])
def test_expert_honours_a_non_default_controller(sim: str) -> None:
    env_id = envs.env_id("Reach", sim)
    env = gym.make(env_id, controller="ee_delta_yaw")
    expert = envs.make_expert(env_id, controller="ee_delta_yaw")
    successes = 0
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        for _ in range(50):
            action = expert.act({"state": obs["state"][None]})[0]
            assert action in env.action_space
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        successes += bool(info["is_success"])
    assert successes == 3
    env.close()


def test_check_is_cheap() -> None:
    code = ("import sys, envs; envs.check_expert_controller('wb/Push-pybullet-v0', 'ee_delta'); "
            "assert 'mujoco' not in sys.modules and 'pybullet' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
