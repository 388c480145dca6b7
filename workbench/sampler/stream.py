"""An endless stream of training episodes over the sampler's step API: what online trainers step.

It adds to :class:`~workbench.sampler.Sampler`'s step API what every online learner needs and no
evaluation does:

- episode seeds drawn in order from one range (the seed plan's ``rollouts`` range: never validation
  or test layouts), with a one-line error when the range runs out;
- each finished episode's return, length and success (``finished``, drained by the trainer's logs);
- exact resume: every row's episode seed and the actions taken since its episode began are its whole
  state (the physics is deterministic); :meth:`state` / :meth:`restore` save and replay them.

The SB3 VecEnv (:mod:`workbench.train.sb3_env`) and the model-based trainer both step one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from workbench.errors import UserError, warn
from workbench.sampler.episodes import info_row
from workbench.sampler.sampler import Sampler, StepResult


class EpisodeStream:
    def __init__(self, sampler: Sampler, seed_start: int, seed_stop: int) -> None:
        self.sampler = sampler
        self.num_envs = sampler.num_envs
        self.seed_start, self.seed_stop = seed_start, seed_stop
        self._next_seed = seed_start
        self.row_actions: list[list[np.ndarray]] = [[] for _ in range(self.num_envs)]
        self._row_return = np.zeros(self.num_envs)
        self.finished: list[tuple[float, int, float]] = []  # (return, length, success) since drained
        self.ended: dict[int, tuple[float, int, float]] = {}  # rows whose episode ended on the last step

    def _episode_seeds(self) -> Iterator[int]:
        for seed in itertools.count(self._next_seed):
            if seed >= self.seed_stop:
                raise UserError(
                    f"online training used every episode seed of its rollouts range (to {self.seed_stop}); "
                    "raise seeds.rollouts.size or train fewer steps per training seed"
                )
            self._next_seed = seed + 1
            yield seed

    def reset(self) -> Any:
        """Start every row on the next episode seeds; returns the batched first observations."""
        self._next_seed = max(self._next_seed, self.seed_start)
        obs = self.sampler.reset(self._episode_seeds())
        self.row_actions = [[] for _ in range(self.num_envs)]
        self._row_return[:] = 0.0
        return obs

    def step(self, actions: np.ndarray) -> StepResult:
        """One batched step; a row whose episode ended restarts on the next seed (``final_obs``), and
        ``ended`` maps it to that episode's (return, length, success)."""
        res = self.sampler.step(actions)
        self.ended = {}
        for row in range(self.num_envs):
            self.row_actions[row].append(np.array(actions[row]))
            self._row_return[row] += float(res.rewards[row])
            if res.terminated[row] or res.truncated[row]:
                success = float(bool(info_row(res.infos, "is_success", row, False)))
                self.ended[row] = (float(self._row_return[row]), len(self.row_actions[row]), success)
                self.finished.append(self.ended[row])
                self.row_actions[row] = []
                self._row_return[row] = 0.0
        return res

    def window_stats(self) -> dict[str, float]:
        """Mean return, length and success of the episodes finished since the last call (a logging
        window); empty when none finished."""
        done, self.finished = self.finished, []
        if not done:
            return {}
        returns, lengths, success = (np.asarray(col, dtype=np.float64) for col in zip(*done, strict=True))
        return {"ep_return": float(returns.mean()), "ep_length": float(lengths.mean()),
                "ep_success": float(success.mean()), "episodes": float(len(done))}  # fmt: skip

    def state(self) -> dict[str, Any]:
        """Every row's episode seed and actions so far, the next seed: the envs' whole state."""
        return {
            "row_seeds": self.sampler.row_seeds,
            "row_actions": [
                torch.from_numpy(np.asarray(a)) if a else torch.zeros(0) for a in self.row_actions
            ],
            "row_return": self._row_return.tolist(),
            "next_seed": self._next_seed,
        }

    def restore(self, state: dict[str, Any], action_shape: tuple[int, ...], action_dtype: Any) -> Any:
        """Replay every row to where the checkpoint left it; returns the batched observations there."""
        actions = [a.numpy().astype(action_dtype).reshape(-1, *action_shape) for a in state["row_actions"]]
        self._next_seed = int(state["next_seed"])
        obs = self.sampler.restore(state["row_seeds"], actions, self._episode_seeds())
        self.row_actions = [list(a) for a in actions]
        self._row_return = np.asarray(state["row_return"], dtype=np.float64)
        return obs

    def close(self) -> None:
        self.sampler.close()


def warn_if_replay_differs(replayed: Any, saved: Any) -> None:
    """Warn when envs replayed to their checkpointed episodes do not give the checkpointed observation
    (an env that is not deterministic under replay): training goes on, but not exactly as it would have."""
    if not _same(replayed, saved):
        warn("the envs replayed to their checkpointed episodes do not give the checkpointed "
             "observation (the env is not deterministic under replay); training continues from the "
             "replayed state, so this run will not match an uninterrupted one exactly")  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))
