"""Perception in the loop: the env's ``observe_with`` hook, the wrapper's perceived state, and
``env.perception=`` from the CLI (evaluation records, videos, refusals)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the wb/ ids)
from perception.in_the_loop import PerceivedObjects, load_locator
from tests.conftest import workbench
from workbench.errors import UserError

pytestmark = pytest.mark.xdist_group("perception-loop")  # one worker: the module's locator is built once


@pytest.fixture(scope="module")
def push_locator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop")
    data = root / "push"
    for split, frames in (("train", 8), ("validation", 4), ("test", 4)):
        workbench("perception", "collect", "env=wb/Push-mujoco-v0", f"frames={frames}", f"split={split}",
                  "width=64", "height=64", "num_points=256", f"out={data}", "progress=false")  # fmt: skip
    run = root / "locator"
    workbench("perception", "train", f"data={data}", "task=points", "steps=2", "batch_size=2",
              "pointnet.width=8", "trainer.eval_every=2", "trainer.progress=false",
              f"run_dir={run}")  # fmt: skip
    return run


@pytest.mark.parametrize("backend", ["mujoco", "pybullet"])
def test_observe_with_the_true_positions_is_the_env_state(backend: str) -> None:
    for mode, keys in (("state", ["state"]), ("goal", ["observation", "achieved_goal"])):
        env = gym.make(f"wb/Push-{backend}-v0", obs_mode=mode)
        try:
            obs, _ = env.reset(seed=3)
            base = env.unwrapped
            cube = base.object_poses()["cube"][:3]
            same = base.observe_with({"cube": cube})
            for key in keys:
                np.testing.assert_array_equal(same[key], obs[key])
            moved = base.observe_with({"cube": cube + np.array([0.1, 0.0, 0.0])})
            if mode == "state":  # cube x and cube - ee x move by 10 cm; target - cube x by -10 cm
                shifted = moved["state"] - obs["state"]
                np.testing.assert_allclose(shifted[[4, 10, 13]], [0.1, 0.1, -0.1], atol=1e-6)
            else:  # the achieved goal is the cube's xy
                moved_goal = moved["achieved_goal"] - obs["achieved_goal"]
                np.testing.assert_allclose(moved_goal, [0.1, 0.0], atol=1e-6)
            with pytest.raises(ValueError, match="no object 'mug'"):
                base.observe_with({"mug": cube})
        finally:
            env.close()


def test_the_wrapper_feeds_the_state_from_the_model(push_locator: Path) -> None:
    locator = load_locator(push_locator)
    assert locator.sensor["cameras"] == ["agentview"] and locator.sensor["num_points"] == 256
    env = gym.make("wb/Push-mujoco-v0", obs_mode="state+points", cameras=("agentview",), width=64, height=64,
                   num_points=256)  # fmt: skip
    wrapped = PerceivedObjects(env, locator)
    try:
        obs, info = wrapped.reset(seed=5)
        assert "points" not in obs and "points" not in wrapped.observation_space.spaces
        for _ in range(3):
            obs, _, _, _, info = wrapped.step(wrapped.action_space.sample())
        estimate = wrapped.estimates["cube"]
        np.testing.assert_allclose(obs["state"][4:7], estimate, atol=1e-6)
        np.testing.assert_allclose(obs["state"][10:13], estimate - obs["state"][0:3], atol=1e-6)
        truth = env.unwrapped.object_poses()["cube"][:3]
        assert info["perception_error_cm"] == pytest.approx(100 * np.linalg.norm(estimate - truth), rel=1e-5)
        np.testing.assert_allclose(info["perceived_xyz"], estimate)
    finally:
        wrapped.close()


def test_evaluation_with_perception_from_the_cli(push_locator: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    workbench("eval", "env=wb/Push-mujoco-v0", "policy=expert", f"env.perception={push_locator}",
              "episodes=2", "num_envs=2", "video_episodes=1", f"out={out}")  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["mean_max_perception_error_cm"] >= results["mean_final_perception_error_cm"] >= 0
    assert len(results["videos"]) == 1
    plain = tmp_path / "plain"  # off: the simulator's state (how a run trained with perception is compared)
    workbench("eval", "env=wb/Push-mujoco-v0", "policy=expert", "env.perception=off", "episodes=1",
              "video=false", f"out={plain}")  # fmt: skip
    assert "mean_max_perception_error_cm" not in json.loads((plain / "results.json").read_text())
    proc = workbench("eval", "env=wb/Push-mujoco-v0", f"env.perception={tmp_path / 'none'}", "policy=random",
                     "episodes=1", f"out={tmp_path / 'x'}", check=False)  # fmt: skip
    assert proc.returncode == 2 and "no model there" in proc.stderr.strip().splitlines()[-1]


def test_what_perception_cannot_feed_is_refused(push_locator: Path) -> None:
    from perception.in_the_loop import sensor_kwargs
    from workbench.config import EnvConfig
    from workbench.errors import ConfigError

    base = {"obs_mode": "state", "cameras": ("front",), "width": 84, "height": 84}
    assert sensor_kwargs(push_locator, base)["obs_mode"] == "state+points"
    with pytest.raises(UserError, match="use the same cameras and size"):
        sensor_kwargs(push_locator, {**base, "obs_mode": "rgb+state"})
    with pytest.raises(UserError, match="obs_mode=goal"):
        sensor_kwargs(push_locator, {**base, "obs_mode": "goal"})
    with pytest.raises(ConfigError, match="applies to the task envs"):
        EnvConfig(id="wb/CartPole-v1", perception=str(push_locator))
    env = gym.make("wb/Tabletop-mujoco-v0", obs_mode="state+points", cameras=("agentview",), width=64,
                   height=64, num_points=256)  # fmt: skip
    try:
        with pytest.raises(UserError, match="none of tabletop's objects"):
            PerceivedObjects(env, load_locator(push_locator))
    finally:
        env.close()
