"""The rollout engine: every evaluation, collection and DAgger round goes through
:class:`EpisodeSampler` (requested seeds in, one episode record per seed out) or :func:`rollout`
(consecutive seeds, with an optional keep-filter) built on it.

Episodes run on a Gymnasium vector env with the **disabled** autoreset mode: the engine resets each
sub-env itself, with the seed of the next queued episode, so episode ``i`` always starts from the
layout of seed ``seed + i`` whatever the number of envs (with same-step or next-step autoreset the
env would draw its own seed). The ``backend`` names where the vector envs live; ``local`` is the
in-process one. Env constructors are plain picklable objects (:class:`EnvFactory`) so a Ray backend
can ship them to actors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.base import Policy
from workbench.data import Episode

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

    def __init__(self, seed: int) -> None:
        self.seed = seed
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

    def add_step(
        self,
        obs: Any,
        row: int,
        action: np.ndarray,
        label: np.ndarray | None,
        reward: float,
        info: dict[str, Any],
        state: np.ndarray | None,
    ) -> None:
        self.actions.append(action)
        if label is not None:
            self.labels.append(label)
        self.rewards.append(reward)
        self.successes.append(bool(_row(info, "is_success", row, False)))
        for key in EPISODE_METRICS:
            value = _row(info, key, row, None)
            if value is not None:
                self.metrics.setdefault(key, []).append(float(value))
        self.add_obs(obs, row)
        if state is not None:
            self.states.append(np.asarray(state))

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


class EpisodeSampler:
    """The episode API: requested seeds in, one record per seed out (in the order requested).

    Built once and reused (its vector env persists across calls, e.g. DAgger's rounds); close it,
    or use it as a context manager. Episode ``seeds[k]`` always starts from
    ``reset(seed=seeds[k])`` whatever ``num_envs`` is, and policies are told each row's episode seed
    (``reset_envs(mask, seeds)``), so a stochastic policy that draws from per-episode generators gives
    the same episodes for any ``num_envs`` (up to float summation order in batched networks).
    ``label_policy`` (the clean scripted expert under DART noise or DAgger) labels every visited state;
    its actions are stored as ``expert_actions``. ``on_episode`` sees each record as soon as it ends
    (writers use it, so a killed collection keeps what it finished).
    """

    def __init__(self, factory: EnvFactory, num_envs: int = 1, backend: str = "local") -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs} must be >= 1")
        self.factory, self.num_envs, self.backend = factory, num_envs, backend
        self._venv: Any = None

    def __enter__(self) -> EpisodeSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._venv is not None:
            self._venv.close()
            self._venv = None

    @property
    def venv(self) -> Any:
        if self._venv is None:
            self._venv = make_vector_env(self.factory, self.num_envs, self.backend)
        return self._venv

    def run(
        self,
        policy: Policy,
        seeds: Sequence[int],
        label_policy: Policy | None = None,
        on_episode: Callable[[Episode], object] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Episode]:
        seeds = [int(s) for s in seeds]
        if len(set(seeds)) != len(seeds):
            raise ValueError("EpisodeSampler.run: the requested seeds repeat; one record per seed")
        if not seeds:
            return []
        venv, n = self.venv, self.num_envs
        policies = [p for p in (policy, label_policy) if p is not None]
        for p in policies:
            p.reset(seed=seeds[0])
        queue = list(seeds)
        row_seeds: list[int | None] = [queue.pop(0) if queue else None for _ in range(n)]
        recorders: list[_Recorder | None] = [
            None if s is None else _Recorder(s) for s in row_seeds
        ]
        finished: dict[int, Episode] = {}
        action_dtype = venv.single_action_space.dtype
        obs, _ = venv.reset(seed=row_seeds)
        everything = np.ones(n, dtype=bool)
        for p in policies:
            p.reset_envs(everything, row_seeds)
        self._record_start(obs, recorders, everything)
        while any(r is not None for r in recorders):
            actions = np.asarray(policy.act(obs), dtype=action_dtype)
            labels = np.asarray(label_policy.act(obs), dtype=action_dtype) if label_policy else None
            obs, rewards, terminated, truncated, info = venv.step(actions)
            states = _sim_states(venv)
            for row, rec in enumerate(recorders):
                if rec is not None:
                    rec.add_step(obs, row, actions[row], None if labels is None else labels[row],
                                 float(rewards[row]), info, None if states is None else states[row])
            done = np.logical_or(terminated, truncated)
            if not done.any():
                continue
            reset_seeds: list[int | None] = [None] * n
            for row in map(int, np.flatnonzero(done)):
                rec = recorders[row]
                if rec is not None:
                    extra = {"sim_unstable": bool(_row(info, "sim_unstable", row, False))}
                    episode = rec.finish(bool(terminated[row]), bool(truncated[row]), extra)
                    finished[rec.seed] = episode
                    if on_episode is not None:
                        on_episode(episode)
                    if progress is not None:
                        progress(len(finished), len(seeds))
                recorders[row] = None
                if queue:
                    next_seed = queue.pop(0)
                    reset_seeds[row] = next_seed
                    recorders[row] = _Recorder(next_seed)
            # Finished rows without a new episode are reset anyway (the vector env refuses to step a
            # done env) and their transitions ignored.
            obs, _ = venv.reset(seed=reset_seeds, options={"reset_mask": done})
            for p in policies:
                p.reset_envs(done, reset_seeds)
            self._record_start(obs, recorders, done)
        return [finished[s] for s in seeds]

    def _record_start(self, obs: Any, recorders: list[_Recorder | None], mask: np.ndarray) -> None:
        states = _sim_states(self.venv)
        for row in map(int, np.flatnonzero(mask)):
            rec = recorders[row]
            if rec is not None:
                rec.add_obs(obs, row)
                if states is not None:
                    rec.states.append(np.asarray(states[row]))


def rollout(
    factory: EnvFactory,
    policy: Policy,
    episodes: int,
    seed: int,
    num_envs: int = 1,
    backend: str = "local",
    label_policy: Policy | None = None,
    keep: Callable[[Episode], bool] | None = None,
    on_episode: Callable[[Episode], object] | None = None,
    max_attempts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Episode]:
    """``episodes`` kept episodes from consecutive seeds ``seed, seed + 1, ...`` (on a one-shot
    sampler). With a ``keep`` filter (e.g. success only) the seeds are asked for
    in batches of the number still missing, so the result is the first ``episodes`` seeds that pass,
    in seed order, whatever ``num_envs``. Stops with an error after ``max_attempts`` seeds (default
    10x ``episodes``)."""
    max_attempts = max_attempts if max_attempts is not None else 10 * episodes
    sampler = EpisodeSampler(factory, max(1, min(num_envs, episodes)), backend)
    kept: list[Episode] = []
    next_seed = seed

    def take(ep: Episode) -> None:
        if (keep is None or keep(ep)) and len(kept) < episodes:
            kept.append(ep)
            if on_episode is not None:
                on_episode(ep)
            if progress is not None:
                progress(len(kept), episodes)

    try:
        while len(kept) < episodes and next_seed - seed < max_attempts:
            count = min(episodes - len(kept), seed + max_attempts - next_seed)
            sampler.run(policy, range(next_seed, next_seed + count), label_policy, on_episode=take)
            next_seed += count
    finally:
        sampler.close()
    if len(kept) < episodes:
        raise RuntimeError(
            f"only {len(kept)} of {episodes} episodes passed the filter after {max_attempts} attempts"
        )
    return sorted(kept, key=lambda ep: ep.seed if ep.seed is not None else 0)


class RandomPolicy:
    """Uniformly random actions from the env's action space (Box or Discrete), seeded."""

    def __init__(self, space: Any, seed: int | None = None) -> None:
        self.space = space
        self.seed = seed
        space.seed(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.space.seed(seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        pass  # one stream for the batch: random actions are a baseline, not a reproducible policy

    def act(self, obs: Any) -> np.ndarray:
        batch = (next(iter(obs.values())) if isinstance(obs, dict) else obs).shape[0]
        return np.stack([np.asarray(self.space.sample()) for _ in range(batch)])
