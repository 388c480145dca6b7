"""What every trainer shares, whatever the family (offline, online, perception): the step loop's
skeleton, checkpoints, logging windows, periodic validation and keeping the best policy.

A family's trainer brings ``train_step()`` (one optimisation step, returning scalar metrics) and the
extra state it must checkpoint (``state()`` / ``load_state()``); this class owns the rest, so the
online trainer of the RL agents and the perception trainer checkpoint, log and validate exactly as
the offline trainer does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

from workbench.checkpoint import rng_state, save_checkpoint, set_rng_state
from workbench.config import TrainerConfig
from workbench.errors import UserError
from workbench.logger import Logger
from workbench.progress import ProgressBar
from workbench.signals import deferred_stop
from workbench.train.distributed import DistInfo

Evaluator = Callable[[int], dict[str, float]]


class Trainable(Protocol):
    """What the shared loop needs of what it trains: a policy, or a perception model."""

    def save(self, path: str | Path) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


def _crossed(before: int, after: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(before, after]`` (a step of 1: ``after % every == 0``)."""
    return after // every > before // every


class TrainingDiverged(UserError):
    """A loss or metric became NaN/inf: the run stops at once (exit 2), keeping its last checkpoint."""


def kept_checkpoint(run_dir: Path) -> str | None:
    """The name of the checkpoint ``latest`` points at, or None (none yet, or a damaged pointer)."""
    from foundation.files import CorruptFileError
    from workbench.checkpoint import read_latest

    try:
        latest = read_latest(run_dir / "checkpoints")
    except CorruptFileError:
        return None
    return latest.name if latest is not None else None


class Trainer:
    """Runs ``train_step`` from ``self.step`` to ``total_steps`` with logging, checkpoints and
    validation. ``samples_per_step`` turns steps/s into samples/s in the logs."""

    best_file = "policy_best.pt"  # where periodic validation keeps the best weights (in the run dir)
    resume_command = "workbench train resume={run_dir}"  # what a stopped run is continued with

    def __init__(
        self,
        agent: Trainable,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        total_steps: int,
        samples_per_step: int = 1,
        evaluator: Evaluator | None = None,
        dist: DistInfo | None = None,
    ) -> None:
        self.agent = agent
        self.config = config
        self.run_dir = run_dir
        self.logger = logger
        self.total_steps = total_steps
        self.samples_per_step = samples_per_step
        self.evaluator = evaluator
        self.dist = dist or DistInfo()
        self.step = 0
        self.best_success = -1.0
        self.best_return = -math.inf

    # ------------------------------------------------------------------------- family-specific parts
    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    def set_mode(self, training: bool) -> None:
        """Switch the agent between training and acting (dropout, EMA weights, ...)."""
        raise NotImplementedError

    def start(self) -> None:
        """A fresh run's setup before the first step (a resumed run loads its state instead)."""

    def state(self) -> dict[str, Any]:
        return {"model": self.agent.state_dict(), "best_success": self.best_success,
                "best_return": self.best_return}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        self.agent.load_state_dict(payload["model"])
        self.best_success = float(payload.get("best_success", -1.0))
        self.best_return = float(payload.get("best_return", -math.inf))
        self.step = int(payload["step"])
        ranks = payload.get("rng_ranks")
        # Every rank restores its own generators; a run resumed at another world size restores rank
        # 0's everywhere (the batches stay exact: they come from the shared data generator).
        mine = ranks[self.dist.rank] if ranks and len(ranks) == self.dist.world else payload["rng"]
        set_rng_state(mine)

    # ---------------------------------------------------------------------------------- shared loop
    def save(self, extra: dict[str, Any]) -> None:
        """Rank 0 writes the checkpoint; under DDP it carries every rank's RNG state."""
        ranks = self.dist.gather(rng_state()) if self.dist.world > 1 else None
        if not self.dist.main:
            return
        payload = {**self.state(), **extra, **({"rng_ranks": ranks} if ranks else {})}
        save_checkpoint(self.run_dir, self.step, payload, keep=self.config.keep_checkpoints)

    def fit(self, extra: dict[str, Any]) -> None:
        """Train from ``self.step`` to ``total_steps``; ``extra`` goes into every checkpoint.

        The throughput window counts only the time spent in ``train_step``: evaluation and
        checkpoint writing are excluded, so steps/s measures training alone.

        SIGINT/SIGTERM stop at the next step boundary with a checkpoint there (then raise); a
        non-finite loss or metric stops at once, before anything of that step is saved."""
        self.set_mode(True)
        window: dict[str, float] = {}
        counts: dict[str, int] = {}
        start, busy = self.step, 0.0
        with (
            ProgressBar("train", self.total_steps, self.step, self.config.progress and self.dist.main) as bar,
            deferred_stop() as stop,
        ):
            while self.step < self.total_steps:
                tic = time.perf_counter()
                metrics = self.train_step()
                busy += time.perf_counter() - tic
                # One agreement per step: a signal or a non-finite value on any rank stops every rank.
                finite = all(map(math.isfinite, metrics.values()))
                stopping, diverged = self.dist.any(stop.requested, not finite)
                if diverged:
                    self.diverged(metrics)
                before, self.step = self.step, self.advance()
                for key, value in metrics.items():
                    window[key] = window.get(key, 0.0) + value
                    counts[key] = counts.get(key, 0) + 1
                if _crossed(before, self.step, self.config.log_every) or self.step >= self.total_steps:
                    means = {k: v / counts[k] for k, v in window.items()}
                    means["steps_per_s"] = (self.step - start) / max(busy, 1e-9)
                    means["samples_per_s"] = means["steps_per_s"] * self.samples_per_step
                    means.update(self.log_extras())
                    self.logger.log(self.step, means, prefix="train/")
                    bar.update(self.step, **self.progress_fields(means))
                    window, counts, start, busy = {}, {}, self.step, 0.0
                if self.evaluator is not None and self.config.eval_every and (
                    _crossed(before, self.step, self.config.eval_every)
                ):
                    self.periodic_eval()
                finished = self.step >= self.total_steps
                saved = _crossed(before, self.step, self.config.checkpoint_every) or finished
                if saved or stopping:
                    self.save(extra)
                if stopping:
                    raise stop.exception(
                        f"stopped at step {self.step} of {self.total_steps}; checkpoint written: "
                        f"continue with `{self.resume_command.format(run_dir=self.run_dir)}`"
                    )
        self.set_mode(False)

    def advance(self) -> int:
        """The step count after one ``train_step``: one optimisation step here; the online trainer
        counts env steps (one call collects several)."""
        return self.step + 1

    def diverged(self, metrics: dict[str, float]) -> None:
        """Stop the run when training diverges, naming the metric and the checkpoint that is kept."""
        bad = [k for k, v in metrics.items() if not math.isfinite(v)] or ["loss"]  # another rank's
        kept = kept_checkpoint(self.run_dir)
        where = f"the last good checkpoint {kept} is kept" if kept else "no checkpoint was written yet"
        raise TrainingDiverged(
            f"train/{bad[0]} is {metrics.get(bad[0], 'nan')} at step {self.step + 1}: training diverged "
            f"({where}); lower agent.lr or check the data"
        )

    def score(self, results: dict[str, float]) -> tuple[float, float]:
        """How a validation result ranks (higher is better), kept as ``best_success``/``best_return``:
        success first, the mean return breaking ties (and ranking envs without success, e.g. CartPole)."""
        return float(results.get("success_rate", 0.0)), float(results.get("mean_return", 0.0))

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        """What the progress line shows of a logging window."""
        return {"loss": means.get("loss", float("nan"))}

    def log_extras(self) -> dict[str, float]:
        """Scalars logged with every training window (e.g. the learning rate)."""
        return {}

    def periodic_eval(self) -> None:
        """Evaluate on validation seeds and keep the policy with the best success (not the lowest loss)."""
        assert self.evaluator is not None
        # Evaluation must not consume the training RNG, or evaluating would change the training run.
        with torch.random.fork_rng(devices=[]):
            self.set_mode(False)
            results = self.evaluator(self.step)
            self.set_mode(True)
        self.logger.log(self.step, results, prefix="eval/")
        score = self.score(results)
        if score > (self.best_success, self.best_return):
            self.best_success, self.best_return = score
            self.agent.save(self.run_dir / self.best_file)
