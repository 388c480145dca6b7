"""Contract tests for the PyBullet workbench envs: check_env per id x obs mode, exact replay, same
layouts as MuJoCo, action validation, instability, vector envs and the scripted experts."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from workbench.replay import verify_actions

PYBULLET_IDS = tuple(i for i in envs.TASK_ENV_IDS if envs.sim_of(i) == "pybullet")
OBS_MODES = ("state", "proprio", "rgb", "depth", "seg", "points", "state+proprio+rgb+depth+seg+points")
CONTROLLERS = ("ee_delta", "ee_delta_yaw", "joint_pos", "joint_vel", "discrete")


def test_every_task_has_a_pybullet_id() -> None:
    assert {envs.task_of(i) for i in PYBULLET_IDS} == set(envs.tasks.TASKS)


def test_import_envs_does_not_import_pybullet() -> None:
    code = "import sys, envs; print('pybullet' in sys.modules or 'mujoco' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_check_env_every_obs_mode(env_id: str) -> None:
    modes = OBS_MODES + (("instruction", "state+instruction") if envs.task_of(env_id) == "tabletop" else ())
    for obs_mode in modes:
        env = gym.make(
            env_id, obs_mode=obs_mode, width=16, height=12, cameras=("front", "wrist"), num_points=64
        )
        check_env(env.unwrapped, skip_render_check=True)
        obs, _ = env.reset(seed=0)
        assert set(obs) == set(env.observation_space.spaces), obs_mode  # type: ignore[attr-defined]
        env.close()


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_check_env_every_controller(controller: str) -> None:
    env = gym.make("wb/Push-pybullet-v0", controller=controller)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    env.close()


def test_sensors_are_consistent() -> None:
    env = gym.make("wb/Stack-pybullet-v0", obs_mode="rgb+depth+seg+points", cameras=("top",),
                   width=48, height=48)
    obs, _ = env.reset(seed=0)
    names = env.unwrapped.segmentation_names  # type: ignore[attr-defined]
    assert names[0] == "background" and names[1] == "table" and names[2] == "robot"
    assert {names[i] for i in np.unique(obs["seg/top"])} >= {"table", "robot", "cube_a", "cube_b"}
    depth = obs["depth/top"]
    table = obs["seg/top"] == 1
    # the top camera is 1.5 m above the table top, looking straight down
    assert np.abs(depth[table] - 1.5).max() < 0.25 and np.abs(np.median(depth[table]) - 1.5) < 0.05
    points = obs["points"]
    assert points.shape == (1024, 6) and np.isfinite(points).all()
    assert points[:, 2].min() >= 0.004 and points[:, 3:].min() >= 0.0 and points[:, 3:].max() <= 1.0
    env.close()


@pytest.mark.parametrize("env_id", ["wb/Push-pybullet-v0", "wb/Tabletop-pybullet-v0"])
def test_render_modes(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array", render_width=64, render_height=48)
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    base = env.unwrapped
    for cam in base.camera_names:  # type: ignore[attr-defined]
        img = base.render_camera(cam, 40, 30)  # type: ignore[attr-defined]
        assert img.shape == (30, 40, 3) and img.std() > 0
    env.close()


def test_bad_arguments_list_valid_choices() -> None:
    with pytest.raises(ValueError, match="state, proprio, rgb"):
        gym.make("wb/Reach-pybullet-v0", obs_mode="thermal")
    with pytest.raises(ValueError, match="front"):
        gym.make("wb/Reach-pybullet-v0", obs_mode="rgb", cameras=("side",))
    with pytest.raises(ValueError, match="instruction"):
        gym.make("wb/Push-pybullet-v0", obs_mode="instruction")
    with pytest.raises(ValueError, match="ee_delta"):
        gym.make("wb/Push-pybullet-v0", controller="torque")


def _rollout(env_id: str, seed: int, steps: int) -> tuple[gym.Env, list[np.ndarray], np.ndarray]:
    """Noisy expert (so the hand touches the objects) from a warmed-up env; (env, states, actions)."""
    env = gym.make(env_id).unwrapped
    env.reset(seed=seed + 100)  # an earlier episode, so contact caches of the past would show
    for _ in range(5):
        env.step(env.action_space.sample())
    obs, _ = env.reset(seed=seed)
    expert = envs.make_expert(env_id, noise=0.3, seed=seed)
    states, actions = [env.get_state()], []  # type: ignore[attr-defined]
    for _ in range(steps):
        action = expert.act({"state": obs["state"][None]})[0]
        obs, _, terminated, truncated, _ = env.step(action)
        states.append(env.get_state())  # type: ignore[attr-defined]
        actions.append(action)
        if terminated or truncated:
            break
    return env, states, np.array(actions)


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_exact_replay_from_state(env_id: str) -> None:
    _, states, actions = _rollout(env_id, seed=3, steps=40)
    fresh = gym.make(env_id).unwrapped
    fresh.reset(seed=99)  # another layout, overwritten by set_state
    for start in (0, len(actions) // 2):
        result = verify_actions(fresh, np.array(states[start:]), actions[start:], atol=0.0)
        assert result.ok and result.max_error == 0.0, (start, result)
    fresh.close()


def test_set_state_then_observation_matches() -> None:
    env, states, _ = _rollout("wb/PickPlace-pybullet-v0", seed=1, steps=30)
    obs = env._get_obs()  # type: ignore[attr-defined]
    fresh = gym.make("wb/PickPlace-pybullet-v0").unwrapped
    fresh.reset(seed=5)
    fresh.set_state(states[-1])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(fresh._get_obs()["state"], obs["state"])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(fresh.get_state(), states[-1])  # type: ignore[attr-defined]


@pytest.mark.parametrize("task", sorted({t for t, _ in envs.REGISTRY}))
def test_same_seed_same_layout_as_mujoco(task: str) -> None:
    for seed in (0, 1):
        mj, _ = gym.make(envs.env_id(task, "mujoco")).reset(seed=seed)
        pb, _ = gym.make(envs.env_id(task, "pybullet")).reset(seed=seed)
        # objects, targets, parked pool entries and the home-posture ee all agree (float32 rounding)
        np.testing.assert_allclose(pb["state"], mj["state"], atol=1e-6)


def test_cameras_match_mujoco() -> None:
    """Both backends place the cameras of ``envs.scene_spec.CAMERAS`` at the same world poses (the wrist
    camera through each simulator's own hand kinematics)."""
    mujoco = pytest.importorskip("mujoco")
    from envs.mujoco import scene as mj_scene
    from envs.scene_spec import CAMERA_NAMES, CAMERAS

    model = mj_scene.build_model("push")
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_forward(model, data)
    env = gym.make("wb/Push-pybullet-v0").unwrapped
    env.reset(seed=0)
    for name in CAMERA_NAMES:
        cam = model.camera(name)
        pos, rot = env._camera_pose(name)  # type: ignore[attr-defined]
        np.testing.assert_allclose(pos, data.cam_xpos[cam.id], atol=1e-6)
        np.testing.assert_allclose(rot, data.cam_xmat[cam.id].reshape(3, 3), atol=1e-6)
        assert CAMERAS[name].fovy == pytest.approx(model.cam_fovy[cam.id])


def test_non_finite_action_raises() -> None:
    env = gym.make("wb/Push-pybullet-v0")
    env.reset(seed=0)
    env.step(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"wb/Push-pybullet-v0.*step 1"):
        env.step(np.array([np.nan, 0, 0, 0], np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        env.step(np.array([0, np.inf, 0, 0], np.float32))


def test_out_of_range_action_is_clipped() -> None:
    results = []
    for scale in (1.0, 5.0):
        env = gym.make("wb/Reach-pybullet-v0").unwrapped
        env.reset(seed=0)
        env.step(np.array([scale, -scale, scale, scale], np.float32))
        results.append(env.get_state())  # type: ignore[attr-defined]
    np.testing.assert_array_equal(results[0], results[1])


def test_unstable_simulation_truncates() -> None:
    import pybullet as p

    env = gym.make("wb/Push-pybullet-v0").unwrapped
    env.reset(seed=0)
    initial = env.get_state()  # type: ignore[attr-defined]
    cube = env.ids.objects["cube"]  # type: ignore[attr-defined]
    p.resetBaseVelocity(cube, (1e4, 0, 0), (0, 0, 0), physicsClientId=env.ids.client)  # type: ignore[attr-defined]
    obs, _, terminated, truncated, info = env.step(np.zeros(4, np.float32))
    assert truncated and info["sim_unstable"] and not terminated and not info["is_success"]
    assert np.isfinite(obs["state"]).all()
    np.testing.assert_array_equal(env.get_state(), initial)  # type: ignore[attr-defined]


def test_object_falling_off_the_table_is_parked() -> None:
    import pybullet as p

    env = gym.make("wb/Push-pybullet-v0").unwrapped
    env.reset(seed=0)
    cube = env.ids.objects["cube"]  # type: ignore[attr-defined]
    p.resetBasePositionAndOrientation(cube, (0.5, 0.0, -0.9), (0, 0, 0, 1), physicsClientId=env.ids.client)  # type: ignore[attr-defined]
    p.resetBaseVelocity(cube, (0, 0, -5.0), (0, 0, 0), physicsClientId=env.ids.client)  # type: ignore[attr-defined]
    for _ in range(5):
        obs, _, _, truncated, info = env.step(np.zeros(4, np.float32))
    assert not truncated and not info["sim_unstable"]
    assert obs["state"][6] < -2.0  # parked: reads below base.PARK_Z / 2, as in MuJoCo


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_env(mode: str) -> None:
    vec = gym.make_vec(
        "wb/Push-pybullet-v0", num_envs=2, vectorization_mode=mode,
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )
    obs, _ = vec.reset(seed=0)
    assert obs["state"].shape == (2, 16)
    expert = envs.make_expert("wb/Push-pybullet-v0")
    for _ in range(3):
        obs, reward, _, _, info = vec.step(expert.act(obs))
    assert reward.shape == (2,) and "is_success" in info
    states = vec.call("get_state")  # type: ignore[attr-defined]
    assert len(states) == 2 and not np.array_equal(states[0], states[1])
    vec.close()


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_expert_success(env_id: str) -> None:
    from envs.bench import expert_success

    result = expert_success(env_id, episodes=10)
    assert result["success_rate"] >= 0.95, result
