"""Domain randomisation: the pure sampler, the parameter hooks of both simulators, exact replay."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the wb/ ids)
from envs.sim_params import SIZE, SimParams
from sim2real.randomize import PRESETS, Randomizer, resolve_ranges, sample_params


def test_presets_resolve_and_bad_ranges_are_refused() -> None:
    for preset in PRESETS:
        resolve_ranges(preset)
    ranges = resolve_ranges("dynamics", {"friction": [0.8, 1.2]})
    assert ranges["friction"] == (0.8, 1.2) and ranges["mass"] == PRESETS["dynamics"]["mass"]
    bad = [("bogus", {}, "preset"), ("none", {"frition": [1, 2]}, "unknown parameter"),
           ("none", {"mass": [2, 1]}, "low <= high"), ("none", {"gain": [0.0, 1.0]}, "factor"),
           ("none", {"camera_shift": [-1.0, 1.0]}, "bounds")]  # fmt: skip
    for preset, overrides, words in bad:
        with pytest.raises(ValueError, match=words):
            resolve_ranges(preset, overrides)


def test_sampling_is_a_pure_function_of_the_generator() -> None:
    ranges = resolve_ranges("all")
    base = SimParams(friction=0.5)
    a = sample_params(np.random.default_rng(3), ranges, base)
    b = sample_params(np.random.default_rng(3), ranges, base)
    c = sample_params(np.random.default_rng(4), ranges, base)
    np.testing.assert_array_equal(a.to_vector(), b.to_vector())
    assert not np.array_equal(a.to_vector(), c.to_vector())
    assert 0.5 * 0.5 <= a.friction <= 0.5 * 1.5  # a factor on the base value
    assert np.all(np.abs(a.camera_shift) <= 0.02)
    assert SimParams.from_vector(a.to_vector()) == a and SimParams.from_dict(a.to_dict()) == a


@pytest.mark.parametrize("sim", ["mujoco", "pybullet"])
def test_randomised_layouts_match_and_replay_is_exact(sim: str) -> None:
    plain = gym.make(f"wb/Push-{sim}-v0")
    rand = gym.make(f"wb/Push-{sim}-v0", randomizer=Randomizer(resolve_ranges("all")))
    obs_plain, _ = plain.reset(seed=11)
    obs_rand, info = rand.reset(seed=11)
    # the layout is drawn before the parameters: the same seed, the same cube and target
    np.testing.assert_allclose(obs_plain["state"][-5:], obs_rand["state"][-5:], atol=1e-6)
    params = rand.unwrapped.params
    assert params != SimParams()
    np.testing.assert_array_equal(info["sim_state"][-SIZE:], params.to_vector())
    states, actions = [info["sim_state"]], []
    rng = np.random.default_rng(0)
    for _ in range(15):
        action = rng.uniform(-1, 1, 4).astype(np.float32)
        states.append(rand.step(action)[4]["sim_state"])
        actions.append(action)
    # a fresh, nominal env replays the randomised episode bit for bit: the parameters ride in the state
    plain.unwrapped.set_state(states[0])
    assert plain.unwrapped.params == params
    for action, state in zip(actions, states[1:], strict=True):
        plain.step(action)
        np.testing.assert_array_equal(plain.unwrapped.get_state(), state)
    plain.close()
    rand.close()


@pytest.mark.parametrize("sim", ["mujoco", "pybullet"])
def test_parameters_change_physics_and_pictures(sim: str) -> None:
    def run(params: SimParams) -> tuple[np.ndarray, np.ndarray]:
        env = gym.make(f"wb/Push-{sim}-v0", obs_mode="state+rgb", width=32, height=32, sim_params=params)
        env.reset(seed=5)
        for _ in range(10):
            obs = env.step(np.array([1.0, 0.0, 0.5, 1.0], dtype=np.float32))[0]  # a fast move: the servo lags
        out = env.unwrapped.get_state()[:9].copy(), obs["rgb/front"].astype(np.float64)
        env.close()
        return out

    q0, img0 = run(SimParams())
    q_gain, _ = run(SimParams(gain=0.3))  # a softer servo sags and lags differently
    _, img_table = run(SimParams(table_rgb=np.array([0.3, -0.3, 0.0])))
    _, img_cam = run(SimParams(camera_shift=np.array([0.0, 0.1, 0.0])))
    assert np.abs(q_gain - q0).max() > 1e-4
    # a redder table: the mean red rises and green falls; a moved camera sees another picture
    assert (
        img_table[..., 0].mean() > img0[..., 0].mean() + 5
        and img_table[..., 1].mean() < img0[..., 1].mean() - 5
    )
    assert np.abs(img_cam - img0).mean() > 3


def test_friction_reaches_both_simulators_contacts() -> None:
    import pybullet as p

    mj = gym.make("wb/Push-mujoco-v0", sim_params={"friction": 0.5})
    table = mj.unwrapped.model.geom("table").id
    assert mj.unwrapped.model.geom_friction[table, 0] == pytest.approx(0.25)
    pb = gym.make("wb/Push-pybullet-v0", sim_params={"friction": 0.5, "mass": 2.0})
    pb.reset(seed=0)
    cube = pb.unwrapped.ids.objects["cube"]
    info = p.getDynamicsInfo(cube, -1, physicsClientId=pb.unwrapped.ids.client)
    spec = pb.unwrapped.task.objects[0]
    assert info[1] == pytest.approx(spec.friction * 0.5) and info[0] == pytest.approx(spec.mass * 2.0)
    mj.close()
    pb.close()


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="friction"):
        SimParams(friction=-1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        gym.make("wb/Push-mujoco-v0", sim_params={"frition": 1.0})


@pytest.mark.parametrize("sim", ["mujoco", "pybullet"])
def test_the_expert_still_pushes_a_heavy_or_light_cube(sim: str) -> None:
    """Masses change the solver's derived constants too (MuJoCo: mj_setConst); stale ones left a
    doubled cube stuck to the table (0% expert success)."""
    from envs.experts import ScriptedExpert

    for mass in (0.5, 2.0):
        env = gym.make(f"wb/Push-{sim}-v0", sim_params={"mass": mass})
        expert = ScriptedExpert("push")
        obs, _ = env.reset(seed=1_500_000)
        for _ in range(100):
            obs, _, terminated, truncated, info = env.step(expert.act({"state": obs["state"][None]})[0])
            if terminated or truncated:
                break
        assert info["is_success"], (sim, mass)
        env.close()
