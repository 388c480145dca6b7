"""DAgger wired into a run: the aggregated dataset (collector) and one offline fit per round (round
trainer) for the loop in :mod:`agents.imitation.dagger_loop` (``workbench train agent=bc dagger.rounds=5``).

Layout in the run directory::

    dagger_data/                 the aggregated dataset (a copy of the demos, then appended to)
    dagger/round_<r>/checkpoints the round's trainer checkpoints (resume inside a round)
    checkpoints/step_<N>.pt      one per completed round (N: global training step) -> eval/resume
    dagger/summary.json          per round: beta, expert labels, episodes, success

A killed run resumes (``resume=RUN_DIR``) inside a round from the round's trainer checkpoint, or
from the last completed round, whose checkpoint records how many episodes the aggregated dataset
had; episodes a killed collection appended after that are dropped and the seeded collection reruns.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from agents.base import LearnedPolicy
from agents.imitation.dagger_loop import RoundRecord, run_dagger, step_offset
from foundation.files import temp_name
from workbench.config import TrainConfig
from workbench.data import Episode, episode_path, load_meta
from workbench.errors import UserError, warn
from workbench.io import atomic_write_json
from workbench.logger import Logger


class RoundLogger(Logger):
    """The run's logger with a step offset: a round's trainer counts from 0, the run's steps go on."""

    def __init__(self, base: Logger, offset: int) -> None:
        super().__init__(base.sinks)
        self.offset = offset

    def log(self, step: int, metrics: dict[str, Any], prefix: str = "") -> None:
        super().log(self.offset + step, metrics, prefix)


def slice_episode(ep: Episode, start: int, stop: int, info: dict[str, Any]) -> Episode:
    """Steps ``start .. stop - 1`` of ``ep`` (with the observations around them) as an episode of its
    own: terminated only if it keeps ``ep``'s terminal step, else truncated; ``info`` is added to ep's."""
    terminated = bool(ep.terminated and stop >= ep.length)
    steps, states = slice(start, stop), slice(start, stop + 1)  # T actions come with T + 1 observations
    return Episode(
        obs={k: v[states] for k, v in ep.obs.items()},
        actions=ep.actions[steps],
        rewards=ep.rewards[steps],
        terminated=terminated,
        truncated=not terminated,
        successes=None if ep.successes is None else ep.successes[steps],
        sim_states=None if ep.sim_states is None else ep.sim_states[states],
        expert_actions=None if ep.expert_actions is None else ep.expert_actions[steps],
        applied_actions=None if ep.applied_actions is None else ep.applied_actions[steps],
        seed=ep.seed,
        info={**ep.info, **info},
    )


def trim_episode(ep: Episode, steps: int) -> Episode:
    """The first ``steps`` steps of ``ep`` (a label budget ran out inside it), marked truncated."""
    return slice_episode(ep, 0, steps, {"label_budget_trimmed": True})


def labelled_steps(ep: Episode, every: int, offset: int) -> list[Episode]:
    """Steps ``offset, offset + every, ...`` of ``ep``, each a one-step episode (``dagger.label_every``):
    the states the expert labels when it labels every ``every``-th one."""
    return [
        slice_episode(ep, t, t + 1, {"label_step": t, "label_every": every})
        for t in range(offset, ep.length, every)
    ]


def truncate_dataset(root: Path, episodes: int) -> None:
    """Drop the episodes after the first ``episodes`` (a killed collection's); stats are rebuilt by
    the next ``DatasetWriter(append=True)``."""
    meta = load_meta(root)
    if len(meta["episodes"]) == episodes:
        return
    if len(meta["episodes"]) < episodes:
        raise UserError(
            f"{root} has {len(meta['episodes'])} episodes but the checkpoint recorded {episodes}; "
            "the aggregated DAgger dataset was modified, start a new run"
        )
    dropped = meta["episodes"][episodes:]
    meta["episodes"] = meta["episodes"][:episodes]
    meta["num_episodes"] = episodes
    meta["num_steps"] = sum(e["length"] for e in meta["episodes"])
    meta["complete"] = False
    atomic_write_json(root / "meta.json", meta)
    for entry in dropped:
        episode_path(root, entry["index"]).unlink(missing_ok=True)
        shutil.rmtree(root / "videos" / f"episode_{entry['index']:06d}", ignore_errors=True)


class DatasetCollector:
    """The aggregated dataset and DAgger's rollouts, seeded from the plan's ``rollouts`` range."""

    def __init__(self, cfg: TrainConfig, data_dir: Path, progress: bool) -> None:
        from workbench.evaluate import env_factory
        from workbench.sampler import Sampler
        from workbench.train.demos import with_state

        self.cfg, self.data_dir, self.progress = cfg, data_dir, progress
        self.env = dataclasses.replace(
            cfg.env,
            obs_mode=with_state(cfg.env.obs_mode),  # the expert reads `state`
            # DAgger's own rollouts may stop earlier than the env's limit (evaluation keeps the env's).
            max_episode_steps=cfg.dagger.max_episode_steps or cfg.env.max_episode_steps,
        )
        self.factory = env_factory(self.env)
        num_envs = min(cfg.eval.num_envs, cfg.dagger.episodes_per_round)
        self.sampler = Sampler.from_config(self.factory, num_envs, cfg.backend)

    def size(self) -> tuple[int, int]:
        meta = load_meta(self.data_dir)
        return len(meta["episodes"]), int(meta["num_steps"])

    def truncate(self, episodes: int) -> None:
        truncate_dataset(self.data_dir, episodes)

    def collect(
        self, learner: LearnedPolicy, round_index: int, beta: float, labels_left: int | None
    ) -> dict[str, float]:
        import envs
        from agents.imitation.dagger import MixturePolicy
        from workbench.evaluate import dataset_writer
        from workbench.progress import ProgressBar

        dcfg = self.cfg.dagger
        assert dcfg.seed is not None  # resolved from the seed plan by TrainConfig
        probe = self.factory()
        try:
            writer = dataset_writer(probe, self.factory, self.env.cameras, self.data_dir, append=True)
        finally:
            probe.close()
        expert = envs.make_expert(self.env.id, controller=self.env.controller)
        executed = envs.make_expert(self.env.id, controller=self.env.controller)
        mixture = MixturePolicy(learner, executed, beta, seed=dcfg.seed + round_index)
        first = dcfg.seed + (round_index - 1) * dcfg.episodes_per_round
        kept: list[Episode] = []
        left = labels_left
        outcomes: list[bool] = []  # success of every rollout of the round, labelled or not

        def add(rollout: Episode) -> None:
            nonlocal left
            outcomes.append(rollout.success)
            if dcfg.label == "failures" and rollout.success:
                return  # solved: the expert is not asked to label it
            pieces = [rollout]
            if dcfg.label_every > 1:
                # The offset comes from the rollout's seed: a resumed round labels the same states.
                offset = int(np.random.default_rng([rollout.seed or 0, 0x1ABE]).integers(dcfg.label_every))
                pieces = labelled_steps(rollout, dcfg.label_every, offset)
            for ep in pieces:
                if left is not None:
                    if left <= 0:
                        return  # the budget ran out: the remaining rollouts of this round are not labelled
                    if ep.length > left:
                        ep = trim_episode(ep, left)
                    left -= ep.length
                writer.add(ep)
                kept.append(ep)

        total = dcfg.episodes_per_round
        with ProgressBar(f"dagger round {round_index}", total, enabled=self.progress) as bar:
            self.sampler.run(
                mixture, range(first, first + dcfg.episodes_per_round), label_policy=expert,
                on_episode=add, progress=lambda done, total: bar.update(done),
            )  # fmt: skip
        writer.close()
        return {
            "new_labels": int(sum(ep.length for ep in kept)),
            "new_episodes": len(kept),
            "rollout_success": float(np.mean(outcomes)) if outcomes else 0.0,
            "expert_fraction": mixture.expert_fraction,
        }

    def close(self) -> None:
        self.sampler.close()


BEST_ROUND_FILE = "dagger/policy_best.pt"  # dagger.final=best: the best round's policy so far


def is_best_round(history: list[RoundRecord]) -> bool:
    """Whether the last round validated at least as well as every earlier one (ties go to the later
    round, which was fitted to more labels)."""
    return bool(history) and best_round(history) == int(history[-1]["round"])


def best_round(history: list[RoundRecord]) -> int:
    """The round ``dagger.final=best`` returns (the last of the best-validated ones)."""
    scores = [float(h.get("success_rate", -1.0)) for h in history]
    top = max(scores)
    return int(history[max(i for i, s in enumerate(scores) if s == top)]["round"])


class OfflineRoundTrainer:
    """One OfflineTrainer fit per round on the aggregated data; run-level checkpoints per round."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, data_dir: Path, device: Any) -> None:
        self.cfg, self.run_dir, self.data_dir, self.device = cfg, run_dir, data_dir, device
        meta = load_meta(data_dir)
        self.obs_spec, self.action_spec = dict(meta["obs_spec"]), meta["action_spec"]
        self.logger: Logger | None = None
        self._round_payload: dict[str, Any] | None = None
        self._completed: tuple[dict[str, Any], LearnedPolicy | None] | None = None
        self._last_state: dict[str, Any] = {}
        self._offset_after = 0

    def _round_dir(self, r: int) -> Path:
        return self.run_dir / "dagger" / f"round_{r:02d}"

    def completed(self) -> tuple[dict[str, Any], LearnedPolicy | None]:
        """Read once per run: the entry point (for the metrics' resume step) and the loop both ask."""
        if self._completed is None:
            self._completed = self._load_completed()
        return self._completed

    def _load_completed(self) -> tuple[dict[str, Any], LearnedPolicy | None]:
        from agents.registry import agent_class
        from workbench.checkpoint import resume_checkpoint

        found = resume_checkpoint(self.run_dir / "checkpoints", warn)
        if found is None:
            return {"round": -1, "history": []}, None
        payload = found[1]
        # The last completed round's policy collects the next round's data (statistics included).
        agent = agent_class(self.cfg.agent.name)(self.cfg.agent, self.obs_spec, self.action_spec)
        agent.load_state_dict(payload["model"])
        return dict(payload["dagger"]), agent.to(self.device)

    def in_progress(self, round_index: int) -> RoundRecord | None:
        from workbench.checkpoint import resume_checkpoint

        found = resume_checkpoint(self._round_dir(round_index) / "checkpoints", warn)
        self._round_payload = found[1] if found is not None else None
        return None if self._round_payload is None else dict(self._round_payload["dagger"])

    def resume_step(self, done_round: int) -> int | None:
        """The global step the run's metrics resume from (None: a fresh run)."""
        payload = self._round_payload
        if payload is not None:
            return step_offset(self.cfg.dagger, self.cfg.agent.steps, done_round + 1) + int(payload["step"])
        return None if done_round < 0 else step_offset(self.cfg.dagger, self.cfg.agent.steps, done_round + 1)

    def train_round(
        self, round_index: int, steps: int, warm_start: LearnedPolicy | None, record: RoundRecord
    ) -> LearnedPolicy:
        import torch

        from agents.policy_io import policy_spec
        from agents.registry import agent_class
        from workbench.dataset import SequenceDataset
        from workbench.train.evaluation import validation_evaluator
        from workbench.train.offline import OfflineTrainer, Recipe
        from workbench.train.run import training_keys

        assert self.logger is not None
        cfg, r = self.cfg, round_index
        data = SequenceDataset(
            self.data_dir,
            obs_keys=training_keys(cfg.agent),  # the VLA agents' grounding target too
            obs_horizon=cfg.agent.obs_horizon,
            action_horizon=cfg.agent.action_horizon,
            action_key="expert_actions",  # DAgger trains on the expert's labels, not what was executed
        )
        torch.manual_seed(cfg.seed + r)  # each round's RNG stream is independent of earlier rounds
        if warm_start is None:
            # A fresh policy fitted to all the data so far, normalised with its statistics.
            agent = agent_class(cfg.agent.name)(cfg.agent, self.obs_spec, self.action_spec, data.stats)
        else:
            agent = warm_start
        offset = step_offset(cfg.dagger, cfg.agent.steps, r)
        round_dir = self._round_dir(r)
        trainer = OfflineTrainer(
            agent, data, Recipe.of(cfg.agent, steps), cfg.trainer, round_dir,
            RoundLogger(self.logger, offset), self.device, cfg.seed + r,
            validation_evaluator(agent, cfg, round_dir / "eval"),
        )  # fmt: skip
        if self._round_payload is not None and int(self._round_payload["dagger"]["round"]) == r:
            print(f"resuming DAgger round {r} from step {self._round_payload['step']}")
            trainer.load_state(self._round_payload)
        spec = {**policy_spec(agent), "dataset": str(self.data_dir)}
        trainer.fit(extra={**spec, "dagger": record})
        self._last_state = {**trainer.state(), **spec}
        self._offset_after = offset + trainer.step
        return agent

    def validate(self, policy: LearnedPolicy, round_index: int) -> float:
        from workbench.evaluate import evaluate

        settings = self.cfg.eval.for_validation(self.cfg.seeds)
        out = self.run_dir / "eval" / f"round_{round_index:02d}"
        return float(evaluate(policy, self.cfg.env, settings, out, progress=False)["success_rate"])

    def finish_round(self, round_index: int, policy: LearnedPolicy, done: dict[str, Any]) -> None:
        from workbench.checkpoint import save_checkpoint

        assert self.logger is not None
        record = {k: v for k, v in done.items() if k not in ("history", "demo_episodes", "demo_labels")}
        self.logger.log(self._offset_after, record, prefix="dagger/")
        atomic_write_json(self.run_dir / "dagger" / "summary.json", done["history"])
        if self.cfg.dagger.final == "best" and is_best_round(done["history"]):
            policy.save(self.run_dir / BEST_ROUND_FILE)  # before the checkpoint that marks the round done
        save_checkpoint(
            self.run_dir, self._offset_after, {**self._last_state, "dagger": done},
            keep=self.cfg.trainer.keep_checkpoints,
        )  # fmt: skip


def train_dagger(
    cfg: TrainConfig, run_dir: Path, demos_dir: Path, device: Any, resuming: bool
) -> dict[str, Any]:
    from workbench.logger import run_logger
    from workbench.train.evaluation import final_eval

    if cfg.dagger.label_every > 1 and int(getattr(cfg.agent, "obs_horizon", 1)) > 1:
        raise UserError(
            f"dagger.label_every={cfg.dagger.label_every} stores one-step samples, which hold no "
            f"observation history for agent.obs_horizon={cfg.agent.obs_horizon}; use dagger.label_every=1 "
            "or agent.obs_horizon=1"
        )
    data_dir = run_dir / "dagger_data"
    if not (data_dir / "meta.json").is_file():
        # Copy, then rename: the demos (possibly a user's dataset=) are never appended to.
        staging = temp_name(data_dir, tag="stage")
        shutil.copytree(demos_dir, staging)
        staging.rename(data_dir)
    trainer = OfflineRoundTrainer(cfg, run_dir, data_dir, device)
    done, _ = trainer.completed()
    trainer.in_progress(int(done["round"]) + 1)
    resume = trainer.resume_step(int(done["round"]))
    if resume is None and resuming:
        resume = 0  # killed before any checkpoint: drop what it logged
    trainer.logger = run_logger(run_dir, resume_step=resume)
    collector = DatasetCollector(cfg, data_dir, cfg.trainer.progress)
    try:
        try:
            agent, done = run_dagger(cfg.dagger, cfg.agent.steps, collector, trainer)
        except ValueError as exc:  # the loop's own checks (label budget below the demos')
            raise UserError(str(exc)) from exc
        chosen = int(done["round"])
        if cfg.dagger.final == "best":
            from agents.policy_io import read_policy

            chosen = best_round(done["history"])
            agent.load_state_dict(read_policy(run_dir / BEST_ROUND_FILE)["state_dict"])
        agent.save(run_dir / "policy.pt")
        end = step_offset(cfg.dagger, cfg.agent.steps, int(done["round"]) + 1)
        results = final_eval(
            agent, cfg, run_dir,
            {"policy": str(run_dir / "policy.pt"), "expert_labels": int(done["labels"]),
             "dagger_rounds": int(done["round"]), "dagger_final_round": chosen, "step": end},
        )  # fmt: skip
        trainer.logger.log(end, results, prefix="eval/")
    finally:
        collector.close()
        trainer.logger.close()
    return results
