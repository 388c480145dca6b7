"""Throughput and expert-success measurements for the workbench envs. Each returns a plain dict.

Called by ``workbench bench envs`` (which writes docs/benchmarks.md). All functions build their own
envs from registered ids, so they measure exactly what users get from ``gymnasium.make``.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # registers the ids


def _mujoco_step_rate(env_id: str, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """State-only ``env.step`` rate vs raw ``mj_step`` with the same model and substeps per env step.

    Random actions; episodes reset (outside the timed region) when they end. The raw baseline
    replays the very states the env visited (``mj_setState`` untimed, then a timed
    ``mj_step(nstep=substeps)``), so both sides integrate the same contacts. ``ratio`` = env
    steps/s / raw steps/s (1.0 = no Python overhead). ``env_steps_per_s`` goes through the
    registered wrappers (TimeLimit, OrderEnforcing, PassiveEnvChecker); ``unwrapped`` does not.
    """
    import mujoco

    env = gym.make(env_id, obs_mode="state")
    base: Any = env.unwrapped
    dim = env.action_space.shape[0]  # type: ignore[index]
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, dim)).astype(np.float32)
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    n_state = mujoco.mj_stateSize(base.model, spec)

    def run(target: Any, record: list[np.ndarray] | None = None) -> float:
        target.reset(seed=seed)
        elapsed = 0.0
        for a in actions:
            if record is not None:
                record.append(base.get_state()[:n_state])
            t0 = time.perf_counter()
            _, _, terminated, truncated, _ = target.step(a)
            elapsed += time.perf_counter() - t0
            if terminated or truncated:
                target.reset()
        return steps / elapsed

    states: list[np.ndarray] = []
    run(env)  # warm-up (first-call allocations, caches)
    wrapped_rate = run(env, states)
    unwrapped_rate = run(base)
    model, data = base.model, mujoco.MjData(base.model)
    elapsed = 0.0
    for state in states:
        mujoco.mj_setState(model, data, state, spec)
        t0 = time.perf_counter()
        mujoco.mj_step(model, data, nstep=base.substeps)
        elapsed += time.perf_counter() - t0
    raw_rate = steps / elapsed
    env.close()
    return {
        "env_id": env_id,
        "substeps": base.substeps,
        "env_steps_per_s": wrapped_rate,
        "unwrapped_steps_per_s": unwrapped_rate,
        "raw_steps_per_s": raw_rate,  # env-step equivalents: mj_step(nstep=substeps) calls per s
        "ratio": wrapped_rate / raw_rate,
        "ratio_unwrapped": unwrapped_rate / raw_rate,
    }


def _mujoco_render_rate(
    env_id: str,
    width: int = 84,
    height: int = 84,
    camera: str = "front",
    frames: int = 500,
    mode: str = "rgb",
    fast: bool = True,
) -> dict[str, Any]:
    """Observation frames/s for ``mode`` (rgb, depth, seg, points; points from this one camera) at
    ``width`` x ``height``; ``fast=False`` measures the pretty video settings (rgb only)."""
    env = gym.make(env_id, obs_mode="state", cameras=(camera,), width=width, height=height, num_points=1024)
    env.reset(seed=0)
    base: Any = env.unwrapped
    if mode == "points":
        def frame() -> Any:
            return base._rig.points((camera,), width, height, base.num_points)
    elif mode == "rgb" and not fast:
        def frame() -> Any:
            return base.render_camera(camera, width, height)
    else:
        def frame() -> Any:
            return base.render_obs(mode, camera, width, height)
    frame()  # warm up the GL context
    t0 = time.perf_counter()
    for _ in range(frames):
        frame()
    fps = frames / (time.perf_counter() - t0)
    env.close()
    return {"env_id": env_id, "camera": camera, "width": width, "height": height, "mode": mode,
            "fast": fast, "frames_per_s": fps}


def expert_success(env_id: str, episodes: int = 100, seed: int = 0, noise: float = 0.0) -> dict[str, Any]:
    """Scripted-expert success rate over seeds ``seed`` .. ``seed + episodes - 1`` (any simulator)."""
    env = gym.make(env_id, obs_mode="state")
    expert = envs.make_expert(env_id, noise=noise, seed=seed)
    successes, lengths = [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        length, success = 0, bool(info["is_success"])
        while True:
            action = expert.act({"state": obs["state"][None]})[0]  # batch of one: (1, D) -> (A,)
            obs, _, terminated, truncated, info = env.step(action)
            length += 1
            success = bool(info["is_success"])
            if terminated or truncated:
                break
        successes.append(success)
        lengths.append(length)
    env.close()
    return {
        "env_id": env_id,
        "episodes": episodes,
        "noise": noise,
        "success_rate": float(np.mean(successes)),
        "mean_episode_length": float(np.mean(lengths)),
        "max_episode_length": int(np.max(lengths)),
        "failed_seeds": [seed + i for i, s in enumerate(successes) if not s],
    }


def construction_time(env_id: str, repeats: int = 5) -> dict[str, Any]:
    """Seconds for ``gym.make`` + first ``reset``: the first call (compiles the model) and the rest."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        env = gym.make(env_id)
        env.reset(seed=0)
        times.append(time.perf_counter() - t0)
        env.close()
    return {"env_id": env_id, "first_s": times[0], "cached_s": float(np.median(times[1:] or times))}


def vector_throughput(
    env_id: str, num_envs: int, mode: str, steps: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Env steps/s (summed over sub-envs) of a ``sync`` or ``async`` vector env, state obs, random actions."""
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode,
                       vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP})
    vec.reset(seed=seed)
    vec.action_space.seed(seed)
    actions = [vec.action_space.sample() for _ in range(steps)]
    vec.step(actions[0])  # warm-up
    t0 = time.perf_counter()
    for a in actions:
        vec.step(a)
    rate = steps * num_envs / (time.perf_counter() - t0)
    vec.close()
    return {"env_id": env_id, "num_envs": num_envs, "mode": mode, "env_steps_per_s": rate}


# ------------------------------------------------------------------ dispatch on the simulator
def _backend(env_id: str) -> Any:
    """The module measuring ``env_id``'s simulator: this one (MuJoCo) or ``envs.pybullet.bench``."""
    sim = envs.sim_of(env_id)
    if sim == "mujoco":
        return None
    return importlib.import_module(f"envs.{sim}.bench")


def step_rate(env_id: str, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """State-only env step rate vs the raw physics step rate on the same states (``ratio``)."""
    mod = _backend(env_id)
    return mod.step_rate(env_id, steps=steps, seed=seed) if mod else _mujoco_step_rate(env_id, steps, seed)


def render_rate(env_id: str, width: int = 84, height: int = 84, camera: str = "front", frames: int = 500,
                mode: str = "rgb") -> dict[str, Any]:
    """Observation frames/s of one camera for ``mode`` in rgb, depth, seg, points."""
    mod = _backend(env_id)
    if mod:
        return mod.render_rate(env_id, width=width, height=height, camera=camera, frames=frames, mode=mode)
    return _mujoco_render_rate(env_id, width, height, camera, frames, mode)


def pretty_render_rate(env_id: str, width: int = 84, height: int = 84, frames: int = 100) -> dict[str, Any]:
    """MuJoCo only: video (pretty) frames/s, for the obs-vs-video comparison."""
    return _mujoco_render_rate(env_id, width, height, "front", frames, "rgb", fast=False)


def available_ids() -> list[str]:
    """Task env ids whose simulator backend is importable here (the PyBullet one may not exist yet)."""
    out = []
    for env_id in envs.TASK_ENV_IDS:
        sim = envs.sim_of(env_id)
        if sim == "mujoco" or importlib.util.find_spec(f"envs.{sim}.bench") is not None:
            out.append(env_id)
    return out
