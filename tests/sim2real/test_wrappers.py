"""Sensor and actuator wrappers: each one's behaviour, seeding, config errors, and exact replay of an
episode recorded under an action delay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import envs  # noqa: F401  (registers the wb/ ids)
from sim2real.wrappers import (
    SENSORS,
    ActionDelay,
    DroppedFrames,
    ImageNoise,
    ObservationNoise,
    ProprioBias,
    apply_sensors,
    check_sensors,
    gaussian_blur,
)
from workbench.data import DatasetWriter, load_episode, load_meta, observation_spec, spec_from_space
from workbench.replay import executed_actions, verify_actions
from workbench.sampler import RandomPolicy
from workbench.sampler.episodes import run_episodes


class Counter(gym.Env[dict[str, Any], Any]):
    """Constant vectors (zeros), images filled with the step index, and a log of executed actions."""

    def __init__(self, action_space: spaces.Space[Any] | None = None, hold: Any = None) -> None:
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Box(-np.inf, np.inf, (3,), np.float32),
                "proprio": spaces.Box(-np.inf, np.inf, (19,), np.float32),
                "desired_goal": spaces.Box(-np.inf, np.inf, (3,), np.float32),
                "rgb/front": spaces.Box(0, 255, (8, 8, 3), np.uint8),
                "depth/front": spaces.Box(0, np.inf, (8, 8), np.float32),
            }
        )
        self.action_space = action_space or spaces.Box(-1, 1, (2,), np.float32)
        self.t = 0
        self.executed: list[Any] = []
        if hold is not None:
            self.hold_action = lambda: hold

    def _obs(self) -> dict[str, Any]:
        return {
            "state": np.zeros(3, np.float32),
            "proprio": np.zeros(19, np.float32),
            "desired_goal": np.zeros(3, np.float32),
            "rgb/front": np.full((8, 8, 3), self.t, np.uint8),
            "depth/front": np.full((8, 8), self.t, np.float32),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t, self.executed = 0, []
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.t += 1
        self.executed.append(np.array(action))
        return self._obs(), 0.0, False, False, {}


def rollout(env: gym.Env[Any, Any], seed: int | None, steps: int) -> list[dict[str, Any]]:
    out = [env.reset(seed=seed)[0]]
    out += [env.step(env.action_space.sample())[0] for _ in range(steps)]
    return out


# ------------------------------------------------------------------------------------------ ObservationNoise
def test_observation_noise_statistics_keys_and_seeding() -> None:
    env = ObservationNoise(Counter(), std=0.5)
    assert sorted(env.keys) == ["proprio", "state"]  # every float vector but the task's goal
    obs = rollout(env, seed=3, steps=200)
    state = np.stack([o["state"] for o in obs])  # (201, 3)
    assert state.dtype == np.float32
    assert abs(state.mean()) < 0.05 and abs(state.std() - 0.5) < 0.05
    assert all(not o["desired_goal"].any() and np.all(o["rgb/front"] == t) for t, o in enumerate(obs))
    again, other = rollout(env, seed=3, steps=200), rollout(env, seed=4, steps=200)
    np.testing.assert_array_equal(np.stack([o["proprio"] for o in again]), [o["proprio"] for o in obs])
    assert not np.array_equal(np.stack([o["proprio"] for o in other]), [o["proprio"] for o in obs])
    clean = rollout(ObservationNoise(Counter(), std=0.0), seed=3, steps=5)
    assert all(not o["state"].any() and not o["proprio"].any() for o in clean)
    only = rollout(ObservationNoise(Counter(), std=1.0, keys=["proprio"]), seed=0, steps=2)
    assert all(not o["state"].any() and o["proprio"].any() for o in only)


def test_observation_noise_leaves_the_env_rng_and_layout_alone() -> None:
    plain = gym.make("wb/Reach-mujoco-v0", obs_mode="state+proprio")
    noisy = ObservationNoise(gym.make("wb/Reach-mujoco-v0", obs_mode="state+proprio"), std=0.01)
    clean, _ = plain.reset(seed=11)
    sensed, _ = noisy.reset(seed=11)
    assert plain.unwrapped.np_random.bit_generator.state == noisy.unwrapped.np_random.bit_generator.state
    np.testing.assert_allclose(sensed["state"], clean["state"], atol=0.1)
    assert not np.array_equal(sensed["state"], clean["state"])


def test_observation_noise_refuses_unknown_and_non_vector_keys() -> None:
    with pytest.raises(
        ValueError,
        match="unknown observation key 'joints'; valid choices: depth/front, desired_goal, proprio",
    ):
        ObservationNoise(Counter(), std=0.1, keys=["joints"])
    with pytest.raises(ValueError, match="'rgb/front' is not a float vector observation"):
        ObservationNoise(Counter(), std=0.1, keys=["rgb/front"])
    with pytest.raises(ValueError, match="must be a list of observation keys"):
        ObservationNoise(Counter(), std=0.1, keys="state")


# ------------------------------------------------------------------------------------------ ProprioBias
def test_proprio_bias_is_constant_within_an_episode_and_seeded() -> None:
    env = ProprioBias(Counter(), std=0.01)
    obs = rollout(env, seed=1, steps=10)
    bias = obs[0]["proprio"]
    assert bias.dtype == np.float32 and np.abs(bias).max() > 0
    assert all(np.array_equal(o["proprio"], bias) for o in obs)
    assert all(not o["state"].any() for o in obs)
    np.testing.assert_array_equal(rollout(env, seed=1, steps=1)[0]["proprio"], bias)
    assert not np.array_equal(rollout(env, seed=2, steps=1)[0]["proprio"], bias)
    bare = gym.make("wb/Reach-mujoco-v0", obs_mode="state")
    with pytest.raises(ValueError, match="no float vector 'proprio' key"):
        ProprioBias(bare, std=0.01)


# ------------------------------------------------------------------------------------------ DroppedFrames
def test_dropped_frames_repeat_the_previous_frame() -> None:
    env = DroppedFrames(Counter(), prob=0.5)
    assert sorted(env.keys) == ["depth/front", "rgb/front"]
    obs = rollout(env, seed=0, steps=100)
    assert obs[0]["rgb/front"][0, 0, 0] == 0  # the reset frame always arrives
    frames = [int(o["rgb/front"][0, 0, 0]) for o in obs]  # the step whose frame is shown
    dropped = [t for t in range(1, len(obs)) if frames[t] != t]
    assert 30 < len(dropped) < 70
    for t in dropped:
        assert frames[t] == frames[t - 1]  # the previous observation's frame
        assert obs[t]["depth/front"][0, 0] == obs[t - 1]["depth/front"][0, 0]  # both cameras together
    again = rollout(env, seed=0, steps=100)
    assert [int(o["rgb/front"][0, 0, 0]) for o in again] == frames


def test_dropped_frames_defaults_to_every_key_without_images_and_checks_prob() -> None:
    env = DroppedFrames(gym.make("wb/Reach-mujoco-v0", obs_mode="state+proprio"), prob=0.3)
    assert sorted(env.keys) == ["proprio", "state"]
    for prob in (1.0, -0.1):
        with pytest.raises(ValueError, match=f"prob={prob}"):
            DroppedFrames(Counter(), prob=prob)


# ------------------------------------------------------------------------------------------ ImageNoise
def test_image_noise_stays_uint8_with_the_right_spread() -> None:
    class Gray(Counter):
        def _obs(self) -> dict[str, Any]:
            return {**super()._obs(), "rgb/front": np.full((8, 8, 3), 128, np.uint8)}

    env = ImageNoise(Gray(), std=10.0)
    images = np.stack([o["rgb/front"] for o in rollout(env, seed=0, steps=50)])  # (51, 8, 8, 3)
    assert images.dtype == np.uint8 and env.observation_space == Gray().observation_space
    assert abs(images.astype(float).mean() - 128) < 1.0 and abs(images.astype(float).std() - 10) < 1.0
    same = np.stack([o["rgb/front"] for o in rollout(env, seed=0, steps=50)])
    np.testing.assert_array_equal(images, same)
    clean = rollout(ImageNoise(Gray()), seed=0, steps=2)
    assert all(np.all(o["rgb/front"] == 128) for o in clean)
    with pytest.raises(ValueError, match="no rgb/<camera> keys"):
        ImageNoise(gym.make("wb/Reach-mujoco-v0", obs_mode="state"), std=1.0)


def test_blur_smooths_and_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (16, 12, 3)).astype(np.float32)
    blurred = gaussian_blur(image, 1.5)
    assert blurred.shape == image.shape and blurred.std() < 0.5 * image.std()
    np.testing.assert_allclose(gaussian_blur(np.full((5, 5, 3), 7.0, np.float32), 2.0), 7.0, rtol=1e-6)
    from scipy.ndimage import gaussian_filter

    # scipy's radius int(3 sigma + 0.5) equals ceil(3 sigma) for these sigmas; 'nearest' = edge padding
    for sigma in (0.5, 1.0, 1.5):
        expected = gaussian_filter(image.astype(np.float64), (sigma, sigma, 0), mode="nearest", truncate=3.0)
        np.testing.assert_allclose(gaussian_blur(image, sigma), expected, rtol=1e-4, atol=1e-3)
    checker = np.indices((8, 8)).sum(axis=0) % 2 * 255  # (8, 8) checkerboard
    env = ImageNoise(Counter(), blur=1.0)
    env.reset(seed=0)
    out = env.observation({"rgb/front": np.repeat(checker[..., None], 3, -1).astype(np.uint8)})
    assert out["rgb/front"].dtype == np.uint8 and out["rgb/front"].astype(float).std() < 30


# ------------------------------------------------------------------------------------------ ActionDelay
def test_action_delay_executes_the_action_from_k_steps_ago() -> None:
    base = Counter(hold=np.array([0.25, -0.5]))
    env = ActionDelay(base, steps=2)
    env.reset(seed=0)
    commands = [np.array([i, -i], np.float32) / 10 for i in range(6)]
    applied = [env.step(a)[4]["applied_action"] for a in commands]
    hold = np.array([0.25, -0.5], np.float32)
    expected = [hold, hold, *commands[:4]]
    for got, executed, want in zip(applied, base.executed, expected, strict=True):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(executed, want)
    assert applied[0].dtype == np.float32  # the hold action in the space's dtype: replays bit for bit
    buffer = np.zeros(2, np.float32)  # a caller reusing its action buffer does not rewrite the queue
    env.reset()
    env.step(buffer)
    buffer[:] = 1.0
    env.step(buffer)
    np.testing.assert_array_equal(env.step(buffer)[4]["applied_action"], [0.0, 0.0])


def test_action_delay_randomised_per_episode_from_the_seed() -> None:
    env = ActionDelay(Counter(hold=np.zeros(2)), steps=0, max_steps=3)

    def latency(seed: int) -> int:
        env.reset(seed=seed)
        applied = [env.step(np.full(2, i + 1, np.float32))[4]["applied_action"] for i in range(5)]
        return next(i for i, a in enumerate(applied) if a[0] > 0)  # steps before the first command lands

    delays = [latency(s) for s in range(12)]
    assert delays == [latency(s) for s in range(12)] and set(delays) <= {0, 1, 2, 3} and len(set(delays)) > 1
    assert [d == env.steps for d in [latency(5)]] == [True]
    with pytest.raises(ValueError, match="max_steps"):
        ActionDelay(Counter(hold=np.zeros(2)), steps=2, max_steps=1)


def test_action_delay_hold_defaults_and_errors() -> None:
    env = ActionDelay(Counter(), steps=1)  # no hold_action: zeros of the Box
    env.reset()
    np.testing.assert_array_equal(env.step(np.ones(2, np.float32))[4]["applied_action"], [0.0, 0.0])
    passthrough = ActionDelay(Counter(), steps=0)
    passthrough.reset()
    np.testing.assert_array_equal(passthrough.step(np.ones(2))[4]["applied_action"], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"Discrete actions .* no hold_action"):
        ActionDelay(Counter(spaces.Discrete(4)), steps=1)
    discrete = ActionDelay(Counter(spaces.Discrete(4), hold=3), steps=1)
    discrete.reset()
    assert int(discrete.step(1)[4]["applied_action"]) == 3
    for steps in (-1, 1.5, True):
        with pytest.raises(ValueError, match=f"steps={steps!r} must be an integer >= 0"):
            ActionDelay(Counter(), steps=steps)  # type: ignore[arg-type]


def test_action_delay_on_panda_holds_the_robot() -> None:
    env = gym.make("wb/Reach-mujoco-v0", obs_mode="state")
    if not hasattr(env.unwrapped, "hold_action"):
        pytest.skip("the Panda envs have no hold_action() yet")
    delayed = ActionDelay(env, steps=2)
    delayed.reset(seed=0)
    hold = np.asarray(env.unwrapped.hold_action(), np.float32)
    info = delayed.step(np.ones(4, np.float32))[4]
    np.testing.assert_array_equal(info["applied_action"], hold)


# ------------------------------------------------------------------------------------------ registry
def test_apply_sensors_wraps_in_order_and_names_bad_specs() -> None:
    specs = [{"name": "obs_noise", "std": 0.1}, {"name": "action_delay", "steps": 1}]
    env = apply_sensors(Counter(), specs)
    assert isinstance(env, ActionDelay) and isinstance(env.env, ObservationNoise)
    assert set(SENSORS) == {"obs_noise", "proprio_bias", "dropped_frames", "image_noise", "action_delay"}
    cases: dict[str, list[dict[str, Any]]] = {
        "env.sensors[1]: unknown sensor 'foo'; valid choices: action_delay, dropped_frames, image_noise, "
        "obs_noise, proprio_bias": [{"name": "image_noise"}, {"name": "foo"}],
        "env.sensors[0] (obs_noise): std=-1 must be >= 0": [{"name": "obs_noise", "std": -1}],
        "env.sensors[0] (obs_noise): unknown parameter 'sigma'; valid choices: std, keys": [
            {"name": "obs_noise", "sigma": 1}
        ],
        "env.sensors[0] (action_delay): missing parameter 'steps'": [{"name": "action_delay"}],
        "env.sensors[0]: expected a mapping with a 'name' key": [{"std": 1}],
        "env.sensors[0] (dropped_frames): prob=1.0 must be in [0, 1)": [
            {"name": "dropped_frames", "prob": 1.0}
        ],
        "env.sensors[0] (image_noise): blur=-2 must be >= 0": [{"name": "image_noise", "blur": -2}],
    }
    for message, bad in cases.items():
        for at_config_time in (False, True):
            with pytest.raises(ValueError) as err:
                check_sensors(bad) if at_config_time else apply_sensors(Counter(), bad)
            assert str(err.value).startswith(message), str(err.value)
            assert "\n" not in str(err.value)
    check_sensors(specs)  # config time: no env needed
    check_sensors([{"name": "obs_noise", "std": 0.1, "keys": ["nowhere"]}])  # keys need the env
    with pytest.raises(
        ValueError, match=r"env.sensors\[0\] \(obs_noise\): unknown observation key 'nowhere'"
    ):
        apply_sensors(Counter(), [{"name": "obs_noise", "std": 0.1, "keys": ["nowhere"]}])
    with pytest.raises(ValueError, match=r"env.sensors\[0\] \(obs_noise\): keys='state' must be a list"):
        check_sensors([{"name": "obs_noise", "std": 0.1, "keys": "state"}])
    with pytest.raises(ValueError, match=r"env\.sensors must be a list"):
        check_sensors({"name": "obs_noise", "std": 0.1})  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ replay
def test_delayed_episodes_record_applied_actions_and_replay_exactly(tmp_path: Path) -> None:
    def make() -> gym.Env[Any, Any]:
        return ActionDelay(gym.make("wb/Reach-mujoco-v0", obs_mode="state", max_episode_steps=15), steps=2)

    venv = gym.vector.SyncVectorEnv([make, make], autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    episodes: list[Any] = []
    run_episodes(venv, RandomPolicy(venv.single_action_space, seed=0), [5, 6, 7], on_episode=episodes.append)
    venv.close()
    assert len(episodes) == 3
    check_env = gym.make("wb/Reach-mujoco-v0", obs_mode="state")
    for ep in episodes:
        assert ep.applied_actions is not None and ep.applied_actions.shape == ep.actions.shape
        np.testing.assert_array_equal(ep.applied_actions[2:], ep.actions[:-2])
        assert verify_actions(check_env, ep.sim_states, executed_actions(ep)).ok
        assert not verify_actions(check_env, ep.sim_states, ep.actions).ok  # the commands diverge

    env = make()
    with DatasetWriter(
        tmp_path / "data", "wb/Reach-mujoco-v0", {"obs_mode": "state"},
        observation_spec(env.observation_space), spec_from_space(env.action_space), fps=20,
    ) as writer:  # fmt: skip
        writer.add(episodes[0])
        plain = episodes[1]
        plain.applied_actions = None  # an episode recorded without a delay
        writer.add(plain)
    assert [e["has_applied_actions"] for e in load_meta(tmp_path / "data")["episodes"]] == [True, False]
    loaded = load_episode(tmp_path / "data", 0)
    assert loaded.applied_actions is not None
    np.testing.assert_array_equal(loaded.applied_actions, episodes[0].applied_actions)
    assert load_episode(tmp_path / "data", 1).applied_actions is None
