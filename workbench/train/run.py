"""``workbench train`` wired: run directory, resume, demonstrations, agent, trainer, evaluation.

The entry point builds every dependency and passes it in (TD-MPC2's ``train.py``); the algorithm
lives in ``agents/``, the loop in the family's trainer. Families with no trainer yet are refused.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, load_train_config, to_yaml
from workbench.errors import UserError
from workbench.io import atomic_write_text


def new_run_dir(cfg: TrainConfig) -> Path:
    if cfg.run_dir is not None:
        path = Path(cfg.run_dir)
        if path.exists() and any(path.iterdir()):
            raise UserError(
                f"run_dir {path} already exists and is not empty; choose another, or resume={path}"
            )
    else:
        now = datetime.now()
        env_name = cfg.env.id.split("/")[-1]
        agent_name = f"{cfg.agent.name}_dagger" if cfg.dagger.rounds > 0 else cfg.agent.name
        path = Path(cfg.runs_root) / now.strftime("%Y-%m-%d") / (
            f"{now.strftime('%H-%M-%S')}_{env_name}_{agent_name}"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_run(cfg: TrainConfig) -> tuple[TrainConfig, Path]:
    """A new run directory with its config.yaml, or the run to resume and its recorded config."""
    if cfg.resume is None:
        run_dir = new_run_dir(cfg)
        atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))
        return cfg, run_dir
    run_dir = Path(cfg.resume)
    if not run_dir.is_dir():
        raise UserError(f"resume={run_dir}: no such run directory")
    return load_train_config(run_dir / "config.yaml"), run_dir


def train(cfg: TrainConfig) -> dict[str, Any]:
    from agents.registry import get_spec
    from workbench.data import load_meta
    from workbench.threads import configure_threads
    from workbench.train.demos import check_training_seeds, ensure_demos
    from workbench.train.device import pick_device

    resuming = cfg.resume is not None
    cfg, run_dir = open_run(cfg)
    print(f"run directory: {run_dir}")
    spec = get_spec(cfg.agent.name)
    if spec.trainer != "offline":
        raise UserError(f"agent {cfg.agent.name!r} needs the {spec.trainer} trainer, which is not built yet")
    device = pick_device(cfg.device)
    configure_threads(cfg.threads, cfg.agent, device.type)
    dataset_dir = Path(cfg.dataset) if cfg.dataset else run_dir / "demos"
    if cfg.dataset is None:
        ensure_demos(cfg, dataset_dir)
    meta = load_meta(dataset_dir)
    if meta["env_id"] != cfg.env.id:
        raise UserError(
            f"dataset {dataset_dir} was recorded on {meta['env_id']} but env is {cfg.env.id}; "
            f"pass env={meta['env_id']}"
        )
    check_training_seeds(cfg, dataset_dir)
    if cfg.dagger.rounds > 0:
        from workbench.train.dagger import train_dagger

        return {"run_dir": str(run_dir), **train_dagger(cfg, run_dir, dataset_dir, device, resuming)}
    return {"run_dir": str(run_dir), **train_offline(cfg, run_dir, dataset_dir, device, resuming)}


def train_offline(
    cfg: TrainConfig, run_dir: Path, dataset_dir: Path, device: Any, resuming: bool
) -> dict[str, Any]:
    import torch

    from agents.policy_io import policy_spec
    from agents.registry import agent_class
    from workbench.checkpoint import latest_checkpoint, load_checkpoint
    from workbench.data import load_meta
    from workbench.dataset import SequenceDataset
    from workbench.logger import run_logger
    from workbench.train.evaluation import final_eval, validation_evaluator
    from workbench.train.offline import OfflineTrainer, Recipe

    ckpt = latest_checkpoint(run_dir) if resuming else None
    payload = load_checkpoint(ckpt) if ckpt is not None else None
    if resuming:
        where = f"{ckpt.name} (step {payload['step']})" if ckpt and payload else "step 0 (no checkpoint yet)"
        print(f"resuming {run_dir} from {where}")
    meta = load_meta(dataset_dir)
    data = SequenceDataset(
        dataset_dir,
        obs_keys=cfg.agent.obs_keys,
        obs_horizon=cfg.agent.obs_horizon,
        action_horizon=cfg.agent.action_horizon,
        action_key=cfg.agent.label,
    )
    torch.manual_seed(cfg.seed)
    agent = agent_class(cfg.agent.name)(cfg.agent, dict(meta["obs_spec"]), meta["action_spec"], data.stats)
    # A resumed run logs from its checkpoint's step: lines a killed run wrote after it are dropped
    # (step 0 when it was killed before its first checkpoint), so no step appears twice.
    resume_step = None if not resuming else (int(payload["step"]) if payload else 0)
    logger = run_logger(run_dir, resume_step=resume_step)
    evaluator = validation_evaluator(agent, cfg, run_dir / "eval")
    trainer = OfflineTrainer(
        agent, data, Recipe.of(cfg.agent), cfg.trainer, run_dir, logger, device, cfg.seed, evaluator
    )
    if payload is not None:
        trainer.load_state(payload)
    try:
        # The policy's spec travels in every checkpoint, so `workbench eval` can rebuild it from one.
        trainer.fit(extra={**policy_spec(agent), "dataset": str(dataset_dir)})
        agent.save(run_dir / "policy.pt")
        results = final_eval(agent, cfg, run_dir, {"policy": str(run_dir / "policy.pt")})
        logger.log(trainer.step, results, prefix="eval/")
    finally:
        logger.close()
    return results


def summary_lines(run_dir: Path, results: dict[str, Any]) -> list[str]:
    lines = [
        f"run directory: {run_dir}",
        f"success_rate: {results['success_rate']:.3f} over {results['episodes']} {results['split']} episodes "
        f"(mean_return {results['mean_return']:.3f}, mean_length {results['mean_length']:.1f})",
    ]
    if "expert_labels" in results:
        rounds = results["dagger_rounds"]
        lines.append(f"expert labels: {results['expert_labels']} after {rounds} DAgger rounds")
    lines += [f"video: {run_dir / 'eval' / video}" for video in results["videos"]]
    return lines
