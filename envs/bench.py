"""Throughput and expert-success measurements for the workbench envs. Each returns a plain dict.

Called by ``workbench bench envs`` (which writes docs/benchmarks.md). All functions build their own
envs from registered ids, so they measure exactly what users get from ``gymnasium.make``. One
skeleton for every simulator; ``envs/<sim>/bench.py`` only says how to time the bare simulator
(``RawStep``: restore a visited state untimed, then the physics of one env step; ``bare_frame``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # registers the ids
from envs.scene_spec import IMAGE_MODES


def step_rate(env_id: str, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """State-only ``env.step`` rate vs the raw physics step on the very states the env visited.

    Random actions (``action_space.sample``, seeded); episodes reset (outside the timed region) when
    they end. The raw baseline restores each visited state (untimed, ``envs/<sim>/bench.py``) and times
    the bare simulator call(s) of one env step (MuJoCo ``mj_step(nstep=substeps)``, PyBullet
    ``substeps`` x ``stepSimulation``), so both sides integrate the same contacts. ``ratio`` = env
    steps/s / raw steps/s (1.0 = no Python overhead). ``env_steps_per_s`` goes through the registered
    wrappers (TimeLimit, OrderEnforcing, PassiveEnvChecker); ``unwrapped`` does not.
    """
    env = gym.make(env_id, obs_mode="state")
    base: Any = env.unwrapped
    base.action_space.seed(seed)
    actions = [base.action_space.sample() for _ in range(steps)]

    def run(target: Any, record: list[tuple[np.ndarray, np.ndarray]] | None = None) -> float:
        target.reset(seed=seed)
        elapsed = 0.0
        for a in actions:
            before = base.get_state() if record is not None else None
            t0 = time.perf_counter()
            _, _, terminated, truncated, _ = target.step(a)
            elapsed += time.perf_counter() - t0
            if record is not None and before is not None:
                record.append((before, base.get_state()))
            if terminated or truncated:
                target.reset()
        return steps / elapsed

    visited: list[tuple[np.ndarray, np.ndarray]] = []  # (state before, state after) per env step
    run(env)  # warm-up (first-call allocations, caches)
    wrapped_rate = run(env, visited)
    unwrapped_rate = run(base)
    raw = _backend(env_id).RawStep(base)
    elapsed = 0.0
    for before, after in visited:
        raw.prepare(before, after)
        t0 = time.perf_counter()
        raw.step()
        elapsed += time.perf_counter() - t0
    raw_rate = steps / elapsed
    env.close()
    return {
        "env_id": env_id,
        "substeps": base.substeps,
        "env_steps_per_s": wrapped_rate,
        "unwrapped_steps_per_s": unwrapped_rate,
        "raw_steps_per_s": raw_rate,  # env-step equivalents: raw physics calls of one env step per s
        "ratio": wrapped_rate / raw_rate,
        "ratio_unwrapped": unwrapped_rate / raw_rate,
    }


def _frames_per_s(frame: Callable[[], Any], frames: int) -> float:
    frame()  # warm-up (GL context, camera matrices, caches)
    t0 = time.perf_counter()
    for _ in range(frames):
        frame()
    return frames / (time.perf_counter() - t0)


def render_rate(env_id: str, width: int = 84, height: int = 84, camera: str = "front", frames: int = 500,
                mode: str = "rgb", pretty: bool = False) -> dict[str, Any]:
    """Observation frames/s of one camera for ``mode`` in rgb, depth, seg, points (points include the
    back-projection and downsampling); ``pretty``: the video settings (``render_camera``, rgb only).

    Where the backend has one (PyBullet), also the rate of its bare renderer call with the same size
    and settings: ``ratio_to_bare`` = bare seconds per frame / env seconds per frame (1.0: no overhead).
    """
    if mode not in (*IMAGE_MODES, "points"):
        raise ValueError(f"render_rate mode must be rgb, depth, seg or points, got {mode!r}")
    env = gym.make(env_id, obs_mode=mode, cameras=(camera,), width=width, height=height)
    env.reset(seed=0)
    base: Any = env.unwrapped
    frame: Callable[[], Any]
    if pretty:
        frame = functools.partial(base.render_camera, camera, width, height)
    elif mode == "points":
        frame = base._get_obs  # obs_mode="points": just the cloud of this one camera
    else:
        frame = functools.partial(base.render_obs, mode, camera, width, height)
    out: dict[str, Any] = {"env_id": env_id, "camera": camera, "width": width, "height": height, "mode": mode,
           "fast": not pretty, "frames_per_s": _frames_per_s(frame, frames)}
    bare = None if pretty else _backend(env_id).bare_frame(base, mode, camera, width, height)
    if bare is not None:
        out["bare_frames_per_s"] = _frames_per_s(bare, frames)
        out["ratio_to_bare"] = out["frames_per_s"] / out["bare_frames_per_s"]
    env.close()
    return out


def expert_success(env_id: str, episodes: int = 100, seed: int = 0, noise: float = 0.0) -> dict[str, Any]:
    """Scripted-expert success rate over seeds ``seed`` .. ``seed + episodes - 1`` (any simulator)."""
    env = gym.make(env_id, obs_mode="state")
    expert = envs.make_expert(env_id, noise=noise, seed=seed)
    successes, lengths = [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        expert.reset_envs(np.array([True]), [seed + i])  # the episode's mode (multimodal experts)
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
    """``envs.<sim>.bench``: how to time ``env_id``'s bare simulator (``RawStep``, ``bare_frame``)."""
    return importlib.import_module(f"envs.{envs.sim_of(env_id)}.bench")


def pretty_render_rate(env_id: str, width: int = 84, height: int = 84, frames: int = 100) -> dict[str, Any]:
    """Video (pretty) frames/s of the front camera, for the obs-vs-video comparison."""
    return render_rate(env_id, width, height, "front", frames, "rgb", pretty=True)


def available_ids() -> list[str]:
    """Task env ids whose simulator backend is importable here."""
    return [i for i in envs.TASK_ENV_IDS if importlib.util.find_spec(f"envs.{envs.sim_of(i)}.bench")]
