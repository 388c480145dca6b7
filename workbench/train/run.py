"""``workbench train`` wired: run directory, resume, demonstrations, agent, trainer, evaluation.

The entry point builds every dependency and passes it in (TD-MPC2's ``train.py``); the algorithm
lives in ``agents/``, the loop in the family's trainer. Families with no trainer yet are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, to_yaml
from workbench.errors import UserError, one_line, warn
from workbench.io import atomic_write_text
from workbench.lock import LOCK_NAME


def train(cfg: TrainConfig) -> dict[str, Any]:
    from agents.registry import get_spec
    from workbench.threads import configure_threads
    from workbench.train.demos import ensure_demos
    from workbench.train.device import pick_device
    from workbench.train.distributed import check_world
    from workbench.train.resume import open_resumed

    resuming = cfg.resume is not None
    plan = open_resumed(cfg) if resuming else None
    if plan is not None:
        cfg = plan.cfg
    # Everything that can be checked is checked before a directory is made or a demo collected.
    spec = get_spec(cfg.agent.name)
    if spec.trainer not in ("offline", "online", "rllib", "model_based"):
        raise UserError(f"agent {cfg.agent.name!r} needs the {spec.trainer} trainer, which is not built yet")
    device = pick_device(cfg.device)
    configure_threads(cfg.threads, cfg.agent, device.type)
    offline = spec.trainer == "offline"
    if offline:
        check_world(cfg)
        if cfg.dataset is not None:
            check_dataset(cfg, Path(cfg.dataset))
    with run_directory(cfg, plan.run_dir if plan is not None else None) as run_dir:
        if plan is not None:
            plan.commit()
        print(f"run directory: {run_dir}")
        if not offline:  # RL: no demonstrations; the online (SB3), rllib or model-based trainer
            from workbench.train.model_based import train_model_based
            from workbench.train.online import train_online
            from workbench.train.rllib_trainer import train_rllib

            trainers = {"online": train_online, "rllib": train_rllib, "model_based": train_model_based}
            return {"run_dir": str(run_dir), **trainers[spec.trainer](cfg, run_dir, device, resuming)}
        dataset_dir = Path(cfg.dataset) if cfg.dataset else run_dir / "demos"
        if cfg.dataset is None:
            ensure_demos(cfg, dataset_dir)
            check_dataset(cfg, dataset_dir)
        if cfg.dagger.rounds > 0:
            from workbench.train.dagger import train_dagger

            return {"run_dir": str(run_dir), **train_dagger(cfg, run_dir, dataset_dir, device, resuming)}
        if cfg.trainer.world_size > 1:
            from workbench.train.distributed import launch

            return {"run_dir": str(run_dir), **launch(cfg, run_dir, dataset_dir, resuming)}
        return {"run_dir": str(run_dir), **train_offline(cfg, run_dir, dataset_dir, device, resuming)}


def check_dataset(cfg: TrainConfig, dataset_dir: Path) -> None:
    """The dataset must exist, be of the run's env, hold the observations the agent reads, and keep its
    seeds clear of validation and test."""
    from workbench.data import load_meta
    from workbench.train.demos import check_training_seeds

    meta = load_meta(dataset_dir)
    if meta["env_id"] != cfg.env.id:
        raise UserError(
            f"dataset {dataset_dir} was recorded on {meta['env_id']} but env is {cfg.env.id}; "
            f"pass env={meta['env_id']}"
        )
    missing = [k for k in training_keys(cfg.agent) if k not in meta["obs_spec"]]
    if missing:
        raise UserError(
            f"dataset {dataset_dir} has no observations {missing} (agent.obs_keys); it records "
            f"{sorted(meta['obs_spec'])}: re-collect it with env.obs_mode=... or change agent.obs_keys"
        )
    check_training_seeds(cfg, dataset_dir)


def training_keys(agent_config: Any) -> list[str]:
    """The observations a training batch holds: what the agent reads, and the VLA agents' training-only
    grounding target (``aux_key``), which the policy never reads when it acts."""
    keys = list(agent_config.obs_keys)
    aux = getattr(agent_config, "aux_key", None)  # only the VLA configs have one
    return [*keys, aux] if aux is not None and aux not in keys else keys


RUN_FILES_BEFORE_START = {"config.yaml", LOCK_NAME}


def new_run_dir(cfg: TrainConfig) -> Path:
    """The directory of a new run: ``run_dir`` (new, empty, or a run that never started: only its
    config.yaml), or a timestamped one under ``runs_root``."""
    if cfg.run_dir is not None:
        path = Path(cfg.run_dir)
        if path.exists() and not path.is_dir():
            raise UserError(f"run_dir={path} is a file; choose a directory path")
        if path.exists() and {p.name for p in path.iterdir()} - RUN_FILES_BEFORE_START:
            raise UserError(
                f"run_dir {path} already exists and is not empty; choose another, or resume={path}"
            )
        return path
    now = datetime.now()
    env_name = cfg.env.id.split("/")[-1]
    agent_name = f"{cfg.agent.name}_dagger" if cfg.dagger.rounds > 0 else cfg.agent.name
    return (
        Path(cfg.runs_root) / now.strftime("%Y-%m-%d") / f"{now.strftime('%H-%M-%S')}_{env_name}_{agent_name}"
    )


@contextmanager
def run_directory(cfg: TrainConfig, existing: Path | None) -> Iterator[Path]:
    """The run's directory, locked for this process: a new one with its config.yaml, or ``existing``
    (a resumed run). A new run that fails before its first checkpoint is removed again, so a retry is
    not refused; an interrupted or checkpointed run stays for ``resume=``."""
    from foundation.files import clean_stale_temp
    from workbench.lock import DirectoryLock

    path = existing if existing is not None else new_run_dir(cfg)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    lock = DirectoryLock(path, "run")
    try:
        clean_stale_temp(path)  # orphans of a killed process (checkpoints, videos, staged records)
        if existing is None:
            atomic_write_text(path / "config.yaml", to_yaml(cfg))
        yield path
    except Exception:
        if existing is None and not any((path / "checkpoints").glob("step_*.pt")):
            _remove_new_run(path, created)
        raise
    finally:
        lock.release()


def _remove_new_run(path: Path, created: bool) -> None:
    """Undo a new run that failed before it had anything worth resuming (all of it is this run's)."""
    import shutil

    if created:
        shutil.rmtree(path, ignore_errors=True)
        return
    for entry in path.iterdir():  # the user's (empty) run_dir stays, emptied again
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def train_offline(
    cfg: TrainConfig, run_dir: Path, dataset_dir: Path, device: Any, resuming: bool, dist: Any = None
) -> dict[str, Any]:
    """Train an offline agent in this process; under ``trainer.world_size > 1`` this is one rank of
    :mod:`workbench.train.distributed` (``dist``), and rank 0 alone logs, evaluates and saves."""
    import torch

    from agents.policy_io import policy_spec
    from agents.registry import agent_class
    from workbench.data import load_meta
    from workbench.dataset import SequenceDataset
    from workbench.logger import Logger, run_logger
    from workbench.train.distributed import DistInfo
    from workbench.train.evaluation import finish_run, validation_evaluator
    from workbench.train.offline import OfflineTrainer, Recipe

    dist = dist or DistInfo()
    ckpt, payload = checkpoint_to_resume(run_dir, resuming, dist.main)
    meta = load_meta(dataset_dir)
    data = SequenceDataset(
        dataset_dir,
        obs_keys=training_keys(cfg.agent),
        obs_horizon=cfg.agent.obs_horizon,
        action_horizon=cfg.agent.action_horizon,
        action_key=cfg.agent.label,
    )
    if data.to_device_if_fits(device) and dist.main:
        print(f"training data on {device} ({data.nbytes / 2**20:.0f} MiB)")
    torch.manual_seed(cfg.seed)
    agent = agent_class(cfg.agent.name)(cfg.agent, dict(meta["obs_spec"]), meta["action_spec"], data.stats)
    if dist.rank > 0:  # the same initial weights everywhere, then each rank its own noise and dropout
        torch.manual_seed(cfg.seed + 100_003 * dist.rank)
    # A resumed run logs from its checkpoint's step, so no step appears twice.
    logger = run_logger(run_dir, resume_step=logged_from(payload, resuming)) if dist.main else Logger([])
    evaluator = validation_evaluator(agent, cfg, run_dir / "eval") if dist.main else None
    trainer = OfflineTrainer(
        agent, data, Recipe.of(cfg.agent), cfg.trainer, run_dir, logger, device, cfg.seed, evaluator, dist
    )
    if payload is not None:
        load_trainer_state(trainer, payload, cfg, ckpt)
    try:
        # The policy's spec travels in every checkpoint, so `workbench eval` can rebuild it from one.
        trainer.fit(extra={**policy_spec(agent), "dataset": str(dataset_dir), "env_id": cfg.env.id})
        if not dist.main:
            return {}
        results = finish_run(agent, cfg, run_dir, logger, trainer.step)
    finally:
        logger.close()
    return results


def checkpoint_to_resume(run_dir: Path, resuming: bool, main: bool = True) -> tuple[Any, Any]:
    """(checkpoint path, payload) a resumed run continues from, or (None, None): a new run, or a
    resumed one killed before its first checkpoint. ``main``: this process reports (rank 0)."""
    from workbench.checkpoint import resume_checkpoint

    if not resuming:
        return None, None
    quiet: Any = lambda message: None  # noqa: E731  (ranks other than 0 say nothing)
    found = resume_checkpoint(run_dir / "checkpoints", warn if main else quiet)
    ckpt, payload = found if found is not None else (None, None)
    if main:
        where = f"{ckpt.name} (step {payload['step']})" if ckpt and payload else "step 0 (no checkpoint yet)"
        print(f"resuming {run_dir} from {where}")
    return ckpt, payload


def load_trainer_state(trainer: Any, payload: dict[str, Any], cfg: TrainConfig, ckpt: Any) -> None:
    """Restore a checkpoint into the trainer; one of another env or agent (copied in by hand) is
    refused naming both, not a wall of tensor-size mismatches."""
    saved = f"{payload.get('agent')} on {payload.get('env_id', 'an unrecorded env')}"
    load_checkpoint_state(trainer, payload, ckpt, saved, f"the run trains {cfg.agent.name} on {cfg.env.id}")


def load_checkpoint_state(trainer: Any, payload: dict[str, Any], ckpt: Any, saved: str, wanted: str) -> None:
    """``trainer.load_state(payload)``, a mismatch refused in one line naming what the checkpoint holds
    (``saved``) and what this run trains (``wanted``): any trainer family."""
    try:
        trainer.load_state(payload)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UserError(
            f"checkpoint {ckpt} does not fit this run ({saved}; {wanted}): {one_line(exc)[:160]}"
        ) from exc


def logged_from(payload: dict[str, Any] | None, resuming: bool) -> int | None:
    """The step a run's logs continue from: None for a new run; a resumed run's checkpoint step (0 when
    it was killed before its first checkpoint), so lines a killed run wrote after it are dropped."""
    return (int(payload["step"]) if payload else 0) if resuming else None


def fit_online(
    cfg: TrainConfig,
    run_dir: Path,
    agent: Any,
    resuming: bool,
    resume: tuple[Any, Any],
    make_trainer: Callable[[Any, Any], Any],
    release: Callable[[], None],
) -> dict[str, Any]:
    """The online families' run (SB3, RLlib, model-based): logger, a trainer from ``make_trainer(logger,
    validation evaluator)`` started fresh or from ``resume`` (checkpoint, payload; ``resuming``: the run was
    resumed, even if killed before its first checkpoint), the shared loop,
    then the training envs released (``release``, once, also on failure) before the final evaluation."""
    from agents.policy_io import policy_spec
    from workbench.logger import run_logger
    from workbench.train.evaluation import finish_run, validation_evaluator

    ckpt, payload = resume
    logger = run_logger(run_dir, resume_step=logged_from(payload, resuming))
    released = False

    def release_once() -> None:
        nonlocal released
        if not released:
            released = True
            release()

    try:
        trainer = make_trainer(logger, validation_evaluator(agent, cfg, run_dir / "eval"))
        if payload is not None:
            load_trainer_state(trainer, payload, cfg, ckpt)
        else:
            trainer.start()
        trainer.fit(extra={**policy_spec(agent), "env_id": cfg.env.id})
        release_once()  # the training envs are done: free them before the evaluation builds its own
        return finish_run(agent, cfg, run_dir, logger, trainer.step)
    finally:
        release_once()
        logger.close()


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
