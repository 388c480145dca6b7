"""The model-based trainer: the workbench's own online agents (PETS) stepping the envs one batched
env step per trainer step, in the shared training loop.

Each ``train_step`` asks the agent for actions (``explore``), steps the :class:`EpisodeStream`, hands
the transitions to the agent (``observe``; a finished row's next observation is its episode's final
one) and lets it learn on its own schedule (``update``). The step counter is env steps, as for SB3's
agents. Checkpoints hold the agent's weights and ``learner_state`` (replay data, optimizer, RNGs,
plans) and the envs as (episode seed, actions so far) per row, replayed on resume: a run killed at
any point and resumed ends with the weights of the uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import OnlineLearner
from workbench.config import TrainConfig, TrainerConfig
from workbench.errors import UserError
from workbench.logger import Logger
from workbench.sampler.stream import EpisodeStream, warn_if_replay_differs
from workbench.train.base import Evaluator, Trainer


class ModelBasedTrainer(Trainer):
    def __init__(
        self,
        agent: OnlineLearner,
        stream: EpisodeStream,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        total_steps: int,
        evaluator: Evaluator | None = None,
    ) -> None:
        super().__init__(agent, config, run_dir, logger, total_steps, evaluator=evaluator)
        self.learner = agent
        self.stream = stream
        self.obs: Any = None

    def start(self) -> None:
        self.obs = self.stream.reset()
        self.learner.start_rows(np.ones(self.stream.num_envs, bool), self.stream.sampler.row_seeds)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "learner": self.learner.learner_state(), "envs": self.stream.state(),
                "obs": {k: torch.from_numpy(np.array(v)) for k, v in self.obs.items()}}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)  # weights, best success, step, global RNGs
        self.learner.load_learner_state(payload["learner"])
        spec = self.learner.action_spec
        self.obs = self.stream.restore(payload["envs"], tuple(spec["shape"]), np.dtype(spec["dtype"]))
        warn_if_replay_differs(self.obs, {k: v.numpy() for k, v in payload["obs"].items()})

    def train_step(self) -> dict[str, float]:
        actions = self.learner.explore(self.obs, self.step)
        if not np.all(np.isfinite(actions)):
            raise UserError(f"agent {self.learner.name} produced non-finite actions at step {self.step}")
        res = self.stream.step(actions)
        ended = np.zeros(self.stream.num_envs, bool)
        ended[list(self.stream.ended)] = True
        next_obs = {k: np.array(v, copy=True) for k, v in res.obs.items()}
        for row in np.flatnonzero(ended):  # the row already restarted: its transition ends in final_obs
            for key in next_obs:
                next_obs[key][row] = res.final_obs[row][key]
        self.learner.observe(self.obs, actions, res.rewards, next_obs, res.terminated)
        if ended.any():
            self.learner.start_rows(ended, res.episode_seeds)
        self.obs = res.obs
        return self.learner.update(self.advance())

    def advance(self) -> int:
        return self.step + self.stream.num_envs

    def set_mode(self, training: bool) -> None:
        pass  # the agent keeps its acting and learning modes apart itself

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        return {k: means[k] for k in ("ep_return", "ep_success") if k in means}

    def log_extras(self) -> dict[str, float]:
        return self.stream.window_stats()


def train_model_based(cfg: TrainConfig, run_dir: Path, device: Any, resuming: bool) -> dict[str, Any]:
    """Train a model-based agent on ``cfg.env``: envs, agent, trainer; then the final evaluation."""
    from agents.registry import agent_class
    from workbench.sampler import Sampler, env_factory
    from workbench.train.online import env_specs
    from workbench.train.run import checkpoint_to_resume, fit_online

    resume = checkpoint_to_resume(run_dir, resuming)
    factory = env_factory(cfg.env)
    obs_spec, action_spec, _ = env_specs(factory)
    torch.manual_seed(cfg.seed)  # the agent's initial weights and generators (a resume overwrites them)
    try:
        agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    sampler = Sampler(factory, cfg.agent.num_envs, cfg.backend.name, max_restarts=cfg.backend.max_restarts)
    stream = EpisodeStream(sampler, cfg.seeds.train_start("rollouts", cfg.seed), cfg.seeds.rollouts.stop)

    def make_trainer(logger: Logger, evaluator: Evaluator) -> ModelBasedTrainer:
        return ModelBasedTrainer(agent, stream, cfg.trainer, run_dir, logger, cfg.agent.steps, evaluator)

    return fit_online(cfg, run_dir, agent, resuming, resume, make_trainer, stream.close)
