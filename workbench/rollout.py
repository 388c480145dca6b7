"""The rollout engine: every evaluation and every data collection goes through :func:`rollout`.

Episodes run on a Gymnasium vector env with the **disabled** autoreset mode: the engine resets each
sub-env itself, with the seed of the next queued episode, so episode ``i`` always starts from the
layout of seed ``seed + i`` whatever the number of envs (with same-step or next-step autoreset the
env would draw its own seed). The ``backend`` names where the vector envs live; ``local`` is the
in-process one. Env constructors are plain picklable objects (:class:`EnvFactory`) so a Ray backend
can ship them to actors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.episodes import Episode

BACKENDS = ("local",)
# Per-step task metrics (from the env's info) summarised per episode as max_<key> and final_<key>.
EPISODE_METRICS = ("coverage",)


@dataclass(frozen=True)
class EnvFactory:
    """Picklable env constructor: builds ``gymnasium.make(env_id, **kwargs)`` after ``import envs``."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        import gymnasium as gym

        import envs  # noqa: F401  (registers the wb/ ids in this process)

        return gym.make(self.env_id, **self.kwargs)


def make_vector_env(factory: EnvFactory, num_envs: int, backend: str = "local") -> Any:
    import gymnasium as gym

    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {list(BACKENDS)}")
    return gym.vector.SyncVectorEnv(
        [factory] * num_envs, autoreset_mode=gym.vector.AutoresetMode.DISABLED
    )


class _Recorder:
    """Per-sub-env buffers of one running episode."""

    def __init__(self, seed: int, index: int) -> None:
        self.seed = seed
        self.index = index
        self.obs: dict[str, list[np.ndarray]] = {}
        self.actions: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.successes: list[bool] = []
        self.states: list[np.ndarray] = []
        self.metrics: dict[str, list[float]] = {}  # per-step task metrics, e.g. PushT coverage

    def add_obs(self, obs: dict[str, np.ndarray] | np.ndarray, row: int) -> None:
        # Array observations (passthrough envs such as CartPole) are recorded under "state".
        for key, value in obs.items() if isinstance(obs, dict) else [("state", obs)]:
            self.obs.setdefault(key, []).append(np.array(value[row]))

    def finish(self, terminated: bool, truncated: bool, info: dict[str, Any]) -> Episode:
        for key, values in self.metrics.items():
            # Push-T reports the best coverage reached in the episode (Chi et al. 2023) and we keep
            # the final one beside it.
            info[f"max_{key}"] = float(np.max(values))
            info[f"final_{key}"] = float(values[-1])
        return Episode(
            obs={k: np.stack(v) for k, v in self.obs.items()},
            actions=np.stack(self.actions).astype(np.float32),
            expert_actions=np.stack(self.labels).astype(np.float32) if self.labels else None,
            rewards=np.asarray(self.rewards, dtype=np.float32),
            terminated=terminated,
            truncated=truncated,
            successes=np.asarray(self.successes, dtype=bool),
            sim_states=np.stack(self.states).astype(np.float64) if self.states else None,
            seed=self.seed,
            info=info,
        )


def _sim_states(venv: Any) -> tuple[np.ndarray, ...] | None:
    """Every sub-env's ``get_state()``; None for envs without exact state (e.g. CartPole passthrough)."""
    if not hasattr(venv.envs[0].unwrapped, "get_state"):
        return None
    return tuple(venv.call("get_state"))


def _row(info: dict[str, Any], key: str, row: int, default: Any) -> Any:
    """Read sub-env ``row`` of a vector-env info entry (absent keys are masked by ``_key``)."""
    if key in info and info.get(f"_{key}", np.ones(row + 1, bool))[row]:
        return info[key][row]
    return default


def rollout(
    factory: EnvFactory,
    policy: Any,
    episodes: int,
    seed: int,
    num_envs: int = 1,
    backend: str = "local",
    label_policy: Any | None = None,
    keep: Callable[[Episode], bool] | None = None,
    on_episode: Callable[[Episode], object] | None = None,
    max_attempts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Episode]:
    """Run ``policy`` until ``episodes`` episodes are kept; episode k of the run is seeded ``seed + k``.

    ``label_policy`` (e.g. the clean scripted expert under DART noise or DAgger) labels every
    visited state; its actions are stored as ``expert_actions``. ``keep`` filters finished episodes
    (e.g. success only); ``on_episode`` is called on each kept episode as soon as it ends, in a
    deterministic order for a given ``num_envs`` (writers use it so a killed collection keeps what it
    finished). Stops with an error after ``max_attempts`` episodes (default 10x ``episodes``).
    """
    num_envs = max(1, min(num_envs, episodes))
    max_attempts = max_attempts if max_attempts is not None else 10 * episodes
    venv = make_vector_env(factory, num_envs, backend)
    kept: list[Episode] = []
    next_index = 0
    try:
        policy.reset(seed=seed)
        if label_policy is not None:
            label_policy.reset(seed=seed)
        seeds = [seed + i for i in range(num_envs)]
        action_dtype = venv.single_action_space.dtype
        obs, _ = venv.reset(seed=seeds)
        recorders: list[_Recorder | None] = []
        states = _sim_states(venv)
        for row in range(num_envs):
            rec = _Recorder(seeds[row], next_index)
            next_index += 1
            rec.add_obs(obs, row)
            if states is not None:
                rec.states.append(np.asarray(states[row]))
            recorders.append(rec)
        while any(r is not None for r in recorders):
            actions = np.asarray(policy.act(obs), dtype=action_dtype)
            labels = np.asarray(label_policy.act(obs), dtype=action_dtype) if label_policy else None
            obs, rewards, terminated, truncated, info = venv.step(actions)
            states = _sim_states(venv)
            done = np.logical_or(terminated, truncated)
            for row, running_rec in enumerate(recorders):
                if running_rec is None:
                    continue
                rec = running_rec
                rec.actions.append(actions[row])
                if labels is not None:
                    rec.labels.append(labels[row])
                rec.rewards.append(float(rewards[row]))
                rec.successes.append(bool(_row(info, "is_success", row, False)))
                for key in EPISODE_METRICS:
                    value = _row(info, key, row, None)
                    if value is not None:
                        rec.metrics.setdefault(key, []).append(float(value))
                rec.add_obs(obs, row)
                if states is not None:
                    rec.states.append(np.asarray(states[row]))
            if not done.any():
                continue
            reset_seeds: list[int | None] = [None] * num_envs
            for row in map(int, np.flatnonzero(done)):
                finished = recorders[row]
                if finished is not None:
                    extra = {"sim_unstable": bool(_row(info, "sim_unstable", row, False))}
                    episode = finished.finish(bool(terminated[row]), bool(truncated[row]), extra)
                    if (keep is None or keep(episode)) and len(kept) < episodes:
                        kept.append(episode)
                        if on_episode is not None:
                            on_episode(episode)
                        if progress is not None:
                            progress(len(kept), episodes)
                    recorders[row] = None
                # Start the next queued episode here, unless enough are kept or running already.
                running = sum(r is not None for r in recorders)
                if len(kept) + running < episodes and next_index < max_attempts:
                    reset_seeds[row] = seed + next_index
                    recorders[row] = _Recorder(seed + next_index, next_index)
                    next_index += 1
            # Finished sub-envs without a new episode are reset anyway (the vector env refuses to
            # step a done env) and their transitions ignored.
            obs, _ = venv.reset(seed=reset_seeds, options={"reset_mask": done})
            if hasattr(policy, "reset_envs"):
                policy.reset_envs(done)
            if label_policy is not None and hasattr(label_policy, "reset_envs"):
                label_policy.reset_envs(done)
            states = _sim_states(venv)
            for row in map(int, np.flatnonzero(done)):
                started = recorders[row]
                if started is not None:
                    started.add_obs(obs, row)
                    if states is not None:
                        started.states.append(np.asarray(states[row]))
        if len(kept) < episodes:
            raise RuntimeError(
                f"only {len(kept)} of {episodes} episodes passed the filter after {max_attempts} attempts"
            )
        return kept
    finally:
        venv.close()


class RandomPolicy:
    """Uniformly random actions from the env's action space (Box or Discrete), seeded."""

    def __init__(self, space: Any, seed: int | None = None) -> None:
        self.space = space
        self.seed = seed
        space.seed(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.space.seed(seed)

    def act(self, obs: Any) -> np.ndarray:
        batch = (next(iter(obs.values())) if isinstance(obs, dict) else obs).shape[0]
        return np.stack([np.asarray(self.space.sample()) for _ in range(batch)])
