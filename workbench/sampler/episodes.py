"""The episode loop on one vector env: requested seeds in, one :class:`Episode` per seed out.

Every backend runs this loop: the ``sync``/``async`` backends on their vector env in this process,
the ``ray`` backend inside each actor on the actor's own vector env. Failures are sorted by whose
fault they are: an exception from the policy (or a non-finite action) is :class:`PolicyFailure`, a
user error that no retry fixes; anything the env or its worker process raises is
:class:`EnvFailure`, which the backends answer by rebuilding the envs and re-running the unfinished
episodes from their seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agents.base import Policy
from workbench.data import Episode
from workbench.sampler.vector import sim_states

# Per-step task metrics (from the env's info) summarised per episode as max_<key> and final_<key>.
EPISODE_METRICS = ("coverage", "perception_error_cm")  # PushT; perception in the loop
# Per-step vectors from the env's info kept whole in the episode's info (one row per step): where
# perception in the loop placed the objects (the evaluation's videos draw them).
EPISODE_TRACKS = ("perceived_xyz",)


class PolicyFailure(Exception):
    """The policy raised or returned non-finite actions: its fault, never retried."""


class EnvFailure(Exception):
    """An env (or the process or actor holding it) failed: rebuild and re-run from the seeds."""


class Recorder:
    """Per-sub-env buffers of one running episode."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.obs: dict[str, list[np.ndarray]] = {}
        self.actions: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.applied: list[np.ndarray] = []  # info["applied_action"] where a wrapper changes it (ActionDelay)
        self.rewards: list[float] = []
        self.successes: list[bool] = []
        self.states: list[np.ndarray] = []
        self.metrics: dict[str, list[float]] = {}  # per-step metrics, e.g. PushT coverage
        self.tracks: dict[str, list[list[float]]] = {}  # per-step vectors (EPISODE_TRACKS)

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
        applied = info_row(info, "applied_action", row, None)
        if applied is not None:
            self.applied.append(np.asarray(applied))
        self.rewards.append(reward)
        self.successes.append(bool(info_row(info, "is_success", row, False)))
        for key in EPISODE_METRICS:
            value = info_row(info, key, row, None)
            if value is not None:
                self.metrics.setdefault(key, []).append(float(value))
        for key in EPISODE_TRACKS:
            value = info_row(info, key, row, None)
            if value is not None:
                self.tracks.setdefault(key, []).append(np.asarray(value, dtype=float).tolist())
        self.add_obs(obs, row)
        if state is not None:
            self.states.append(np.asarray(state))

    def finish(self, terminated: bool, truncated: bool, info: dict[str, Any]) -> Episode:
        for key, values in self.metrics.items():
            # Push-T reports the best coverage reached in the episode (Chi et al. 2023) and we keep
            # the final one beside it.
            info[f"max_{key}"] = float(np.max(values))
            info[f"final_{key}"] = float(values[-1])
        info.update(self.tracks)
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
            applied_actions=np.stack(self.applied).astype(np.float32) if self.applied else None,
        )


def info_row(info: dict[str, Any], key: str, row: int, default: Any) -> Any:
    """Read sub-env ``row`` of a vector-env info entry (absent keys are masked by ``_key``)."""
    if key in info and info.get(f"_{key}", np.ones(row + 1, bool))[row]:
        return info[key][row]
    return default


def _act(policy: Policy, obs: Any, dtype: Any, who: str) -> np.ndarray:
    try:
        actions = np.asarray(policy.act(obs), dtype=dtype)
    except Exception as exc:
        raise PolicyFailure(f"the {who} raised {type(exc).__name__}: {exc}") from exc
    if actions.dtype.kind == "f" and not np.isfinite(actions).all():
        rows = np.flatnonzero(~np.isfinite(actions.reshape(len(actions), -1)).all(axis=1))
        raise PolicyFailure(f"the {who} returned non-finite actions (rows {rows.tolist()})")
    return actions


def _env(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` on the vector env; whatever it raises is the env's failure."""
    try:
        return call(*args, **kwargs)
    except Exception as exc:  # the env itself, or its worker process (EOF, broken pipe)
        name = getattr(call, "__name__", "env call")
        raise EnvFailure(f"{name} failed: {type(exc).__name__}: {exc}") from exc


def run_episodes(
    venv: Any,
    policy: Policy,
    seeds: Sequence[int],
    label_policy: Policy | None = None,
    on_episode: Callable[[Episode], object] | None = None,
) -> None:
    """Run one episode per seed on ``venv`` (``num_envs`` rows at a time); ``on_episode`` receives
    each record as it ends. Policies are told each row's episode seed (``reset_envs(mask, seeds)``),
    so a stochastic policy drawing from per-episode generators gives the same episodes for any
    ``num_envs`` and any backend. Raises :class:`PolicyFailure` or :class:`EnvFailure`; episodes
    already handed to ``on_episode`` stay done."""
    n = venv.num_envs
    policies = [p for p in (policy, label_policy) if p is not None]
    queue = [int(s) for s in seeds]
    for p in policies:
        p.reset(seed=queue[0])
    row_seeds: list[int | None] = [queue.pop(0) if queue else None for _ in range(n)]
    recorders: list[Recorder | None] = [None if s is None else Recorder(s) for s in row_seeds]
    action_dtype = venv.single_action_space.dtype
    obs, info = _env(venv.reset, seed=row_seeds)
    # Envs that put their exact state in the info (the wb/ tasks) cost no extra call per step.
    in_info = "sim_state" in info
    has_state = in_info or sim_states(venv) is not None
    everything = np.ones(n, dtype=bool)
    for p in policies:
        p.reset_envs(everything, row_seeds)
    _record_start(venv, obs, info, recorders, everything, has_state)
    while any(r is not None for r in recorders):
        actions = _act(policy, obs, action_dtype, "policy")
        labels = _act(label_policy, obs, action_dtype, "label policy") if label_policy else None
        obs, rewards, terminated, truncated, info = _env(venv.step, actions)
        states = _states(venv, info, has_state)
        for row, rec in enumerate(recorders):
            if rec is not None:
                rec.add_step(obs, row, actions[row], None if labels is None else labels[row],
                             float(rewards[row]), info, None if states is None else states[row])  # fmt: skip
        done = np.logical_or(terminated, truncated)
        if not done.any():
            continue
        reset_seeds: list[int | None] = [None] * n
        for row in map(int, np.flatnonzero(done)):
            rec = recorders[row]
            if rec is not None:
                extra = {"sim_unstable": bool(info_row(info, "sim_unstable", row, False))}
                episode = rec.finish(bool(terminated[row]), bool(truncated[row]), extra)
                if on_episode is not None:
                    on_episode(episode)
            recorders[row] = None
            if queue:
                reset_seeds[row] = queue.pop(0)
                recorders[row] = Recorder(reset_seeds[row])  # type: ignore[arg-type]
        # Finished rows without a new episode are reset anyway (the vector env refuses to step a
        # done env) and their transitions ignored.
        obs, info = _env(venv.reset, seed=reset_seeds, options={"reset_mask": done})
        for p in policies:
            p.reset_envs(done, reset_seeds)
        _record_start(venv, obs, info, recorders, done, has_state)


def _states(venv: Any, info: dict[str, Any], has_state: bool) -> Any:
    """Every row's simulator state: from the info when the env puts it there, else asked for."""
    if not has_state:
        return None
    if "sim_state" in info:
        return info["sim_state"]
    return _env(sim_states, venv)


def _record_start(
    venv: Any, obs: Any, info: dict[str, Any], recorders: list[Recorder | None], mask: np.ndarray,
    has_state: bool,
) -> None:  # fmt: skip
    states = _states(venv, info, has_state)
    for row in map(int, np.flatnonzero(mask)):
        rec = recorders[row]
        if rec is not None:
            rec.add_obs(obs, row)
            if states is not None:
                rec.states.append(np.asarray(states[row]))


class InOrder:
    """Hands episodes to ``on_episode`` in the order of ``seeds``, whatever order they finish in
    (rows, workers and restarts finish them out of order): datasets written from any backend and any
    ``num_envs`` are then identical, index for index."""

    def __init__(self, seeds: Sequence[int], on_episode: Callable[[Episode], object] | None,
                 progress: Callable[[int, int], None] | None) -> None:  # fmt: skip
        self.order = [int(s) for s in seeds]
        self.done: dict[int, Episode] = {}
        self.emitted = 0
        self.on_episode, self.progress = on_episode, progress

    def add(self, episode: Episode) -> None:
        assert episode.seed is not None
        if episode.seed in self.done:
            return  # a re-run of an episode that had finished (a restart): the first record stands
        self.done[episode.seed] = episode
        while self.emitted < len(self.order) and self.order[self.emitted] in self.done:
            if self.on_episode is not None:
                self.on_episode(self.done[self.order[self.emitted]])
            self.emitted += 1
        if self.progress is not None:
            self.progress(len(self.done), len(self.order))

    @property
    def missing(self) -> list[int]:
        return [s for s in self.order if s not in self.done]

    def results(self) -> list[Episode]:
        return [self.done[s] for s in self.order]
