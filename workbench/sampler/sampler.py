"""The sampler: one object, built once and reused, with two faces over the same envs.

- The **episode API** (:meth:`Sampler.run`): requested seeds in, one record per seed out, in the
  order requested, with simulator states for replay. Evaluation, collection and DAgger use it.
- The **step API** (:meth:`Sampler.reset` / :meth:`Sampler.step`): batched observations, actions,
  rewards, ``terminated`` vs ``truncated``, the final observation of each finished episode and the
  episode seed of every row, with finished rows reset to the next seed of a given sequence. Online
  learning uses it (``sync`` and ``async``; the ``ray`` backend ships whole episodes).

Backends (``backend.name``): ``sync`` (Gymnasium's SyncVectorEnv, in this process), ``async``
(AsyncVectorEnv, one process per env), ``ray`` (actors, each owning a vector env; see
:mod:`workbench.sampler.ray_backend`). For the same seeds all three return identical episodes
with the scripted experts.

Fault tolerance: when an env fails (raises, or its process or actor dies) the envs are rebuilt and
the unfinished episodes re-run from their seeds; every requested seed appears once in the results,
and :attr:`Sampler.restarts` counts the rebuilds (at most ``backend.max_restarts`` per call). A policy
that raises is a user error, not a retry loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import Policy
from workbench.data import Episode
from workbench.errors import UserError
from workbench.sampler.episodes import EnvFailure, InOrder, PolicyFailure, run_episodes
from workbench.sampler.factory import EnvFactory
from workbench.sampler.vector import LOCAL_BACKENDS, make_vector_env

BACKENDS = (*LOCAL_BACKENDS, "ray")


@dataclass
class StepResult:
    """One batched step. ``final_obs[row]`` is the last observation of an episode that ended on this
    step (``obs[row]`` is already the first observation of the row's next episode), else None."""

    obs: Any
    rewards: np.ndarray  # (N,) float
    terminated: np.ndarray  # (N,) bool: the task ended (success, failure): no bootstrapping
    truncated: np.ndarray  # (N,) bool: cut by the time limit: bootstrap from final_obs
    final_obs: list[Any]  # (N,) per-row dict/array or None
    infos: dict[str, Any]
    episode_seeds: list[int]  # (N,) the seed of the episode each row is in after this step


class Sampler:
    """Episodes and steps on ``num_envs`` envs built by ``factory``, on ``backend``."""

    def __init__(
        self,
        factory: EnvFactory,
        num_envs: int = 1,
        backend: str = "sync",
        workers: int = 1,
        address: str | None = None,
        max_restarts: int = 3,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs} must be >= 1")
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is not one of {list(BACKENDS)}")
        self.factory, self.num_envs, self.backend = factory, num_envs, backend
        self.workers, self.address, self.max_restarts = workers, address, max_restarts
        self.restarts = 0  # env rebuilds over the sampler's life
        self._venv: Any = None
        self._ray: Any = None
        self._step_seeds: Iterator[int] | None = None
        self._row_seeds: list[int] = []

    @classmethod
    def from_config(cls, factory: EnvFactory, num_envs: int, backend: Any) -> Sampler:
        """From a :class:`workbench.config.BackendConfig` and the command's ``num_envs``."""
        return cls(factory, backend.total_envs(num_envs), backend.name, backend.workers, backend.address,
                   backend.max_restarts)  # fmt: skip

    # ----------------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._venv is not None:
            with contextlib.suppress(Exception):  # a dead async worker: nothing left to close cleanly
                self._venv.close()
            self._venv = None
        if self._ray is not None:
            self._ray.close()
            self._ray = None

    @property
    def venv(self) -> Any:
        if self.backend == "ray":
            raise UserError("the step API runs on backend=sync or async; backend=ray ships whole episodes")
        if self._venv is None:
            self._venv = make_vector_env(self.factory, self.num_envs, self.backend)
        return self._venv

    def _rebuild(self) -> None:
        if self._venv is not None:
            with contextlib.suppress(Exception):
                if self.backend == "async":
                    self._venv.close(terminate=True)
                else:
                    self._venv.close()
            self._venv = None

    # --------------------------------------------------------------------------------- episode API
    def run(
        self,
        policy: Policy,
        seeds: Sequence[int],
        label_policy: Policy | None = None,
        on_episode: Callable[[Episode], object] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Episode]:
        """One episode per seed, in the order requested; ``on_episode`` sees them in that order as
        soon as every earlier one is done (writers use it: a killed collection keeps what it wrote).
        ``label_policy`` (the clean scripted expert under DART noise or DAgger) labels every visited
        state; its actions are stored as ``expert_actions``."""
        seeds = [int(s) for s in seeds]
        if len(set(seeds)) != len(seeds):
            raise ValueError("Sampler.run: the requested seeds repeat; one record per seed")
        if not seeds:
            return []
        ordered = InOrder(seeds, on_episode, progress)
        try:
            if self.backend == "ray":
                if self._ray is None:
                    from workbench.sampler.ray_backend import RayPool

                    self._ray = RayPool(self.factory, self.num_envs, self.workers, self.address)
                self.restarts += self._ray.run(policy, label_policy, seeds, ordered.add, self.max_restarts)
            else:
                self._run_local(policy, label_policy, ordered)
        except PolicyFailure as exc:
            raise UserError(f"{exc} (on {self.factory.env_id}); fix the policy, this is not retried") from exc
        return ordered.results()

    def _run_local(self, policy: Policy, label_policy: Policy | None, ordered: InOrder) -> None:
        failures = 0
        while ordered.missing:
            try:
                run_episodes(self.venv, policy, ordered.missing, label_policy, ordered.add)
            except EnvFailure as exc:
                failures += 1
                self.restarts += 1
                self._rebuild()
                if failures > self.max_restarts:
                    raise UserError(
                        f"{self.factory.env_id} failed {failures} times (last: {exc}); gave up after "
                        f"backend.max_restarts={self.max_restarts} restarts"
                    ) from exc

    # ------------------------------------------------------------------------------------ step API
    def reset(self, seeds: Iterator[int]) -> Any:
        """Start an episode on every row, seeded from ``seeds`` (then one more seed per new episode)."""
        self._step_seeds = iter(seeds)
        self._row_seeds = [next(self._step_seeds) for _ in range(self.num_envs)]
        obs, _ = self.venv.reset(seed=list(self._row_seeds))
        return obs

    def step(self, actions: np.ndarray) -> StepResult:
        if self._step_seeds is None:
            raise RuntimeError("Sampler.step before Sampler.reset")
        obs, rewards, terminated, truncated, infos = self.venv.step(actions)
        done = np.logical_or(terminated, truncated)
        final_obs: list[Any] = [None] * self.num_envs
        if done.any():
            rows = [int(r) for r in np.flatnonzero(done)]
            for row in rows:
                final_obs[row] = _take_row(obs, row)
                self._row_seeds[row] = next(self._step_seeds)
            seeds: list[int | None] = [self._row_seeds[r] if done[r] else None for r in range(self.num_envs)]
            fresh, _ = self.venv.reset(seed=seeds, options={"reset_mask": done})
            obs = _merge_rows(obs, fresh, done)
        return StepResult(obs, np.asarray(rewards), np.asarray(terminated), np.asarray(truncated),
                          final_obs, infos, list(self._row_seeds))  # fmt: skip

    @property
    def row_seeds(self) -> list[int]:
        """The episode seed of every row of the step API (as of the last reset or step)."""
        return list(self._row_seeds)

    def restore(
        self, row_seeds: Sequence[int], row_actions: Sequence[np.ndarray], seeds: Iterator[int]
    ) -> Any:
        """Put every row back in the middle of its episode: ``reset(row_seeds[i])`` then the row's
        recorded actions, replayed. The physics is deterministic, so this reaches the exact state a
        killed run was in (simulator, task, time limit, the env's own RNG) without pickling any env.

        The vector env steps all rows together, so a row with fewer actions is reset later: it idles
        on its first action until ``T - len(actions)`` steps remain, then starts its episode. ``seeds``
        continues the episode-seed sequence afterwards. Returns the observations after the replay."""
        import warnings

        lengths = [len(a) for a in row_actions]
        total = max(lengths, default=0)
        starts = [total - n for n in lengths]
        space = self.venv.single_action_space
        idle = np.zeros(space.shape, space.dtype)  # a valid action (the envs clip) while a row idles
        obs: Any = None
        with warnings.catch_warnings():  # idling rows may step past their end: expected here
            warnings.simplefilter("ignore")
            for t in range(total + 1):
                mask = np.array([start == t for start in starts])
                if t == 0:
                    obs, _ = self.venv.reset(seed=[int(s) for s in row_seeds])
                elif mask.any():
                    reset_seeds: list[int | None] = [
                        int(s) if m else None for s, m in zip(row_seeds, mask, strict=True)
                    ]
                    fresh, _ = self.venv.reset(seed=reset_seeds, options={"reset_mask": mask})
                    obs = _merge_rows(obs, fresh, mask)
                if t == total:
                    break
                actions = np.stack([acts[t - st] if t >= st else idle
                                    for acts, st in zip(row_actions, starts, strict=True)])  # fmt: skip
                obs, *_ = self.venv.step(actions)
        self._step_seeds = seeds
        self._row_seeds = [int(s) for s in row_seeds]
        return obs


def _take_row(obs: Any, row: int) -> Any:
    if isinstance(obs, dict):
        return {k: np.array(v[row]) for k, v in obs.items()}
    return np.array(obs[row])


def _merge_rows(old: Any, new: Any, mask: np.ndarray) -> Any:
    """``new`` where ``mask`` (rows just reset), ``old`` elsewhere (rows still running)."""
    if isinstance(old, dict):
        return {k: _merge_rows(old[k], new[k], mask) for k in old}
    shape = (-1,) + (1,) * (np.ndim(old) - 1)
    return np.where(mask.reshape(shape), new, old)


def rollout(
    factory: EnvFactory,
    policy: Policy,
    episodes: int,
    seed: int,
    num_envs: int = 1,
    backend: Any = None,
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
    from workbench.config.backend import BackendConfig

    sampler = Sampler.from_config(factory, max(1, min(num_envs, episodes)), backend or BackendConfig())
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
