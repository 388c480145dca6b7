"""Throughput and expert-success measurements for the workbench envs. Each returns a plain dict.

Called by ``workbench bench envs`` (which writes docs/benchmarks.md). All functions build their own
envs from registered ids, so they measure exactly what users get from ``gymnasium.make``.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # registers the ids


def step_rate(env_id: str, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
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
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, 4)).astype(np.float32)
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
        "raw_mj_step_per_s": raw_rate,  # env-step equivalents: mj_step(nstep=substeps) calls per s
        "ratio": wrapped_rate / raw_rate,
        "ratio_unwrapped": unwrapped_rate / raw_rate,
    }


def render_rate(
    env_id: str,
    width: int = 84,
    height: int = 84,
    camera: str = "front",
    frames: int = 500,
    fast: bool = True,
) -> dict[str, Any]:
    """Rendering frames/s at ``width`` x ``height`` for one camera: observation settings (``fast``,
    no shadows/reflections/multisampling) or the pretty video settings (MuJoCo's defaults)."""
    env = gym.make(env_id, obs_mode="rgb", cameras=(camera,), width=width, height=height)
    env.reset(seed=0)
    base = env.unwrapped
    base._render(camera, width, height, fast=fast)  # type: ignore[attr-defined]  # warm up GL context
    t0 = time.perf_counter()
    for _ in range(frames):
        base._render(camera, width, height, fast=fast)  # type: ignore[attr-defined]
    fps = frames / (time.perf_counter() - t0)
    env.close()
    return {"env_id": env_id, "camera": camera, "width": width, "height": height, "frames_per_s": fps}


def expert_success(env_id: str, episodes: int = 100, seed: int = 0, noise: float = 0.0) -> dict[str, Any]:
    """Scripted-expert success rate over ``episodes`` seeds (``seed`` .. ``seed + episodes - 1``)."""
    env = gym.make(env_id, obs_mode="state")
    expert = envs.make_expert(env_id, noise=noise, seed=seed)
    successes, lengths = [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        length, success = 0, bool(info["is_success"])
        while True:
            action = expert.act({"state": obs["state"][None]})[0]  # batch of one: (1, D) -> (4,)
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


def run_all(episodes: int = 100) -> list[dict[str, Any]]:
    """Every measurement for every registered id (what ``workbench bench envs`` reports)."""
    results: list[dict[str, Any]] = []
    for env_id in envs.ENV_IDS:
        results.append({"kind": "construction", **construction_time(env_id)})
        results.append({"kind": "step_rate", **step_rate(env_id)})
        results.append({"kind": "render_rate", **render_rate(env_id)})
        results.append({"kind": "expert_success", **expert_success(env_id, episodes=episodes)})
    return results
