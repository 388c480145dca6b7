"""DAgger's outer loop around any BC-family agent: ``workbench train agent=bc dagger.rounds=5``.

    round 0:       train on the expert demos (plain BC)
    round r >= 1:  roll out the beta_r mixture of expert and learner (agents.imitation.dagger),
                   the expert labels every visited state -> append to the aggregated dataset
                   -> retrain on all expert labels so far (from scratch, or warm-started with
                      dagger.warm_start=true), with the same OfflineTrainer

Layout in the run directory::

    dagger_data/                 the aggregated dataset (a copy of the demos, then appended to)
    dagger/round_<r>/checkpoints the round's trainer checkpoints (resume inside a round)
    checkpoints/step_<N>.pt      one per completed round (N: global training step) -> eval/resume
    dagger/summary.json          per round: beta, expert labels, episodes, success

Every expert label is a training target: the demos' steps and every step a DAgger rollout visits
(``dagger/labels`` in metrics.jsonl and ``expert_labels`` in eval/results.json), so DAgger can be
compared with BC at an equal number of labels (``dagger.label_budget``).

A killed run resumes (``resume=RUN_DIR``) from the last checkpoint: inside a round from the round's
trainer checkpoint, or from the last completed round, whose checkpoint records how many episodes
the aggregated dataset had; episodes a killed collection appended after that are dropped and the
(seeded, deterministic) collection runs again.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import TrainConfig
from workbench.episodes import Episode, episode_path, load_meta
from workbench.errors import UserError
from workbench.io import atomic_write_json
from workbench.logger import Logger


class RoundLogger(Logger):
    """The run's logger with a step offset: a round's trainer counts from 0, the run's steps go on."""

    def __init__(self, base: Logger, offset: int) -> None:
        super().__init__(base.sinks)
        self.offset = offset

    def log(self, step: int, metrics: dict[str, Any], prefix: str = "") -> None:
        super().log(self.offset + step, metrics, prefix)


def round_steps(cfg: TrainConfig, r: int) -> int:
    """Training steps of round ``r`` (round 0 trains ``agent.steps`` on the demos)."""
    return cfg.agent.steps if r == 0 or cfg.dagger.steps_per_round is None else cfg.dagger.steps_per_round


def step_offset(cfg: TrainConfig, r: int) -> int:
    """Global training step at which round ``r`` starts."""
    return sum(round_steps(cfg, i) for i in range(r))


def trim_episode(ep: Episode, steps: int) -> Episode:
    """The first ``steps`` steps of ``ep`` (a label budget ran out inside it), marked truncated."""
    return Episode(
        obs={k: v[: steps + 1] for k, v in ep.obs.items()},
        actions=ep.actions[:steps],
        rewards=ep.rewards[:steps],
        terminated=False,
        truncated=True,
        successes=None if ep.successes is None else ep.successes[:steps],
        sim_states=None if ep.sim_states is None else ep.sim_states[: steps + 1],
        expert_actions=None if ep.expert_actions is None else ep.expert_actions[:steps],
        seed=ep.seed,
        info={**ep.info, "label_budget_trimmed": True},
    )


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


def run_dagger(cfg: TrainConfig, run_dir: Path, demos_dir: Path, device: Any) -> dict[str, Any]:
    import torch

    from agents.policy_io import policy_payload
    from agents.registry import agent_class
    from workbench.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
    from workbench.commands.train import final_eval
    from workbench.dataset import SequenceDataset
    from workbench.evaluate import evaluate
    from workbench.logger import run_logger
    from workbench.trainer import OfflineTrainer, Recipe

    dcfg = cfg.dagger
    data_dir = run_dir / "dagger_data"
    if not (data_dir / "meta.json").is_file():
        # Copy, then rename: the demos (possibly a user's dataset=) are never appended to.
        staging = run_dir / ".dagger_data.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(demos_dir, staging)
        staging.rename(data_dir)
    meta = load_meta(data_dir)
    obs_spec, action_spec = meta["obs_spec"], meta["action_spec"]

    # Where to resume: the last completed round (top-level checkpoint), then inside the next round.
    top = latest_checkpoint(run_dir)
    done: dict[str, Any] = {"round": -1, "history": []}
    payload = None
    if top is not None:
        payload = load_checkpoint(top)
        done = payload["dagger"]
    if done["round"] < 0:
        demo_episodes = len(meta["episodes"])
        demo_labels = int(meta["num_steps"])
    else:
        demo_episodes, demo_labels = int(done["demo_episodes"]), int(done["demo_labels"])
    if dcfg.label_budget and dcfg.label_budget < demo_labels:
        raise UserError(
            f"dagger.label_budget={dcfg.label_budget} is below the {demo_labels} expert labels of the "
            f"{demo_episodes} initial demos; use fewer demos (demos.episodes=) or a larger budget"
        )

    agent: Any = None
    if payload is not None:
        # The last completed round's policy collects the next round's data (statistics included).
        agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec)
        agent.load_state_dict(payload["model"])
        agent.to(device)

    next_round = done["round"] + 1
    round_ckpt = latest_checkpoint(run_dir / "dagger" / f"round_{next_round:02d}")
    round_payload = load_checkpoint(round_ckpt) if round_ckpt is not None else None
    if round_payload is not None:
        resume_step: int | None = step_offset(cfg, next_round) + int(round_payload["step"])
    else:
        resume_step = None if payload is None else int(payload["step"])
    logger = run_logger(run_dir, resume_step=resume_step)
    quick = cfg.eval.for_validation()
    history: list[dict[str, Any]] = list(done["history"])

    try:
        for r in range(next_round, dcfg.rounds + 1):
            info: dict[str, Any] = {"round": r, "beta": 1.0 if r == 0 else dcfg.beta(r)}
            resuming_inside = r == next_round and round_payload is not None
            if r > 0 and dcfg.label_budget and int(done["labels"]) >= dcfg.label_budget:
                print(f"dagger: label budget {dcfg.label_budget} reached after round {r - 1}")
                break
            if resuming_inside:
                assert round_payload is not None
                truncate_dataset(data_dir, int(round_payload["dagger"]["episodes"]))
            elif r > 0:
                truncate_dataset(data_dir, int(done["episodes"]))
                info.update(collect_round(cfg, agent, data_dir, r, int(done["labels"])))
            meta = load_meta(data_dir)
            labels, episodes = int(meta["num_steps"]), len(meta["episodes"])
            round_info = {
                **info,
                "labels": labels,
                "episodes": episodes,
                "demo_episodes": demo_episodes,
                "demo_labels": demo_labels,
            }
            print(
                f"dagger round {r}/{dcfg.rounds}: beta {info['beta']:.3f}, {episodes} episodes, "
                f"{labels} expert labels"
            )

            data = SequenceDataset(
                data_dir,
                obs_keys=cfg.agent.obs_keys,
                obs_horizon=cfg.agent.obs_horizon,
                action_horizon=cfg.agent.action_horizon,
                action_key="expert_actions",  # DAgger trains on the expert's labels, not what was executed
            )
            if agent is None or not dcfg.warm_start:
                # A fresh policy fitted to all the data so far, normalised with its statistics.
                torch.manual_seed(cfg.seed + r)
                agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec, data.stats).to(device)
            round_dir = run_dir / "dagger" / f"round_{r:02d}"

            def evaluator(step: int, out: Path = round_dir / "eval", policy: Any = agent) -> dict[str, float]:
                res = evaluate(policy, cfg.env, quick, out / f"step_{step:08d}", progress=False)
                return {k: res[k] for k in ("success_rate", "mean_return", "mean_length")}

            recipe = Recipe(
                round_steps(cfg, r), cfg.agent.batch_size, cfg.agent.warmup_steps, cfg.agent.grad_clip
            )
            offset = step_offset(cfg, r)
            torch.manual_seed(cfg.seed + r)  # each round's RNG stream is independent of earlier rounds
            trainer = OfflineTrainer(
                agent, data, recipe, cfg.trainer, round_dir, RoundLogger(logger, offset), device,
                cfg.seed + r, evaluator,
            )  # fmt: skip
            if resuming_inside:
                assert round_payload is not None
                print(f"resuming DAgger round {r} from step {round_payload['step']}")
                trainer.load_state(round_payload)
                round_info = {**round_payload["dagger"], **round_info}
            skip = ("format", "version", "state_dict")
            spec = {k: v for k, v in policy_payload(agent).items() if k not in skip}
            trainer.fit(extra={**spec, "dataset": str(data_dir), "dagger": round_info})

            if dcfg.eval_every_round:
                res = evaluate(agent, cfg.env, quick, run_dir / "eval" / f"round_{r:02d}", progress=False)
                round_info["success_rate"] = float(res["success_rate"])
            logger.log(
                offset + trainer.step,
                {k: v for k, v in round_info.items() if k not in ("demo_episodes", "demo_labels")},
                prefix="dagger/",
            )
            history.append({k: round_info[k] for k in round_info if k != "history"})
            done = {**round_info, "history": history}
            atomic_write_json(run_dir / "dagger" / "summary.json", history)
            save_checkpoint(
                run_dir,
                offset + trainer.step,
                {**trainer.state(), **spec, "dataset": str(data_dir), "dagger": done},
                keep=cfg.trainer.keep_checkpoints,
            )
        agent.save(run_dir / "policy.pt")
        results = final_eval(agent, cfg, run_dir)
        results["expert_labels"] = int(done["labels"])
        results["dagger_rounds"] = int(done["round"])
        atomic_write_json(run_dir / "eval" / "results.json", results)
        logger.log(step_offset(cfg, int(done["round"]) + 1), results, prefix="eval/")
    finally:
        logger.close()
    return results


def collect_round(cfg: TrainConfig, agent: Any, data_dir: Path, r: int, labels: int) -> dict[str, Any]:
    """Roll out round ``r``'s mixture, append the expert-labelled episodes to ``data_dir``."""
    import envs
    from agents.imitation.dagger import MixturePolicy, label_budget_left
    from workbench.commands.train import _with_state
    from workbench.evaluate import dataset_writer, env_factory
    from workbench.progress import ProgressBar
    from workbench.rollout import rollout

    dcfg = cfg.dagger
    env = dataclasses.replace(
        cfg.env,
        obs_mode=_with_state(cfg.env.obs_mode),  # the expert reads `state`
        # DAgger's own rollouts may stop earlier than the env's limit (evaluation keeps the env's).
        max_episode_steps=dcfg.max_episode_steps if dcfg.max_episode_steps else cfg.env.max_episode_steps,
    )
    factory = env_factory(env)
    probe = factory()
    try:
        writer = dataset_writer(probe, factory, env.cameras, data_dir, append=True)
    finally:
        probe.close()
    expert = envs.make_expert(env.id)
    mixture = MixturePolicy(agent, envs.make_expert(env.id), dcfg.beta(r), seed=dcfg.seed + r)
    left = label_budget_left(dcfg.label_budget, labels)
    kept: list[Episode] = []

    def add(ep: Episode) -> None:
        nonlocal left
        if left is not None:
            if left <= 0:
                return  # the budget ran out: the remaining rollouts of this round are not labelled
            if ep.length > left:
                ep = trim_episode(ep, left)
            left -= ep.length
        writer.add(ep)
        kept.append(ep)

    agent.eval()
    with ProgressBar(f"dagger round {r}", dcfg.episodes_per_round, enabled=cfg.trainer.progress) as bar:
        rollout(
            factory,
            mixture,
            episodes=dcfg.episodes_per_round,
            seed=dcfg.seed + (r - 1) * dcfg.episodes_per_round,
            num_envs=cfg.eval.num_envs,
            backend=cfg.eval.backend,
            label_policy=expert,
            on_episode=add,
            progress=lambda done, total: bar.update(done),
        )
    writer.close()
    return {
        "new_labels": int(sum(ep.length for ep in kept)),
        "new_episodes": len(kept),
        "rollout_success": float(np.mean([ep.success for ep in kept])) if kept else 0.0,
        "expert_fraction": mixture.expert_fraction,
    }


__all__ = ["collect_round", "run_dagger", "trim_episode", "truncate_dataset"]
