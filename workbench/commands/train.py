"""``workbench train``: demos (collected or from ``dataset=``) -> offline training -> evaluation -> video."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.config import EvalSettings, TrainConfig, load_train_config, to_yaml
from workbench.errors import UserError
from workbench.io import atomic_write_text


def pick_device(name: str) -> Any:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda but no CUDA GPU is visible; use device=cpu or device=auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("device=mps but MPS is not available; use device=cpu or device=auto")
    return torch.device(name)


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


def ensure_demos(cfg: TrainConfig, root: Path) -> None:
    """Collect expert demos into ``root`` unless a complete set is already there (resume)."""
    from workbench.commands.collect import collect_dataset
    from workbench.episodes import load_meta

    if (root / "meta.json").is_file():
        try:
            meta = load_meta(root)
            if meta.get("complete") and len(meta["episodes"]) == cfg.demos.episodes:
                return
        except (ValueError, FileNotFoundError):
            pass
        shutil.rmtree(root)  # a collection killed half-way: collect again (it is deterministic)
    print(f"collecting {cfg.demos.episodes} expert demos on {cfg.env.id} -> {root}")
    collect_dataset(
        env=dataclasses.replace(cfg.env, obs_mode=_with_state(cfg.env.obs_mode)),
        policy_name="expert",
        episodes=cfg.demos.episodes,
        seed=cfg.demos.seed,
        noise=cfg.demos.noise,
        success_only=cfg.demos.success_only,
        num_envs=cfg.eval.num_envs,
        backend=cfg.eval.backend,
        out=root,
        progress=cfg.trainer.progress,
    )


def _with_state(obs_mode: str) -> str:
    # The scripted expert acts on the privileged `state` observation; datasets always record it.
    modes = obs_mode.split("+")
    return obs_mode if "state" in modes else "+".join([*modes, "state"])


def run(cfg: TrainConfig) -> dict[str, Any]:
    import torch

    from agents.policy_io import policy_payload
    from agents.registry import AGENT_FAMILY, agent_class
    from workbench.checkpoint import latest_checkpoint, load_checkpoint
    from workbench.dataset import SequenceDataset
    from workbench.episodes import load_meta
    from workbench.evaluate import evaluate
    from workbench.logger import run_logger
    from workbench.trainer import OfflineTrainer, Recipe

    payload = None
    if cfg.resume is not None:
        run_dir = Path(cfg.resume)
        if not run_dir.is_dir():
            raise UserError(f"resume={run_dir}: no such run directory")
        cfg = load_train_config(run_dir / "config.yaml")
        ckpt = latest_checkpoint(run_dir)
        if ckpt is not None:
            payload = load_checkpoint(ckpt)
            print(f"resuming {run_dir} from {ckpt.name} (step {payload['step']})")
        else:
            print(f"resuming {run_dir}: no checkpoint yet, starting training from step 0")
    else:
        run_dir = new_run_dir(cfg)
        atomic_write_text(run_dir / "config.yaml", to_yaml(cfg))
    print(f"run directory: {run_dir}")

    if AGENT_FAMILY[cfg.agent.name] != "offline":
        raise UserError(f"agent {cfg.agent.name!r} has no trainer yet")
    device = pick_device(cfg.device)
    dataset_dir = Path(cfg.dataset) if cfg.dataset else run_dir / "demos"
    if cfg.dataset is None:
        ensure_demos(cfg, dataset_dir)
    meta = load_meta(dataset_dir)
    if meta["env_id"] != cfg.env.id:
        raise UserError(
            f"dataset {dataset_dir} was recorded on {meta['env_id']} but env is {cfg.env.id}; "
            f"pass env={meta['env_id']}"
        )
    if cfg.dagger.rounds > 0:
        from workbench.dagger import run_dagger

        results = run_dagger(cfg, run_dir, dataset_dir, device)
        print_summary(run_dir, results)
        return {"run_dir": str(run_dir), **results}
    data = SequenceDataset(
        dataset_dir,
        obs_keys=cfg.agent.obs_keys,
        obs_horizon=cfg.agent.obs_horizon,
        action_horizon=cfg.agent.action_horizon,
        action_key=cfg.agent.label,
    )
    torch.manual_seed(cfg.seed)
    obs_spec = {k: v for k, v in meta["obs_spec"].items()}
    agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, meta["action_spec"], data.stats)
    logger = run_logger(run_dir, resume_step=None if payload is None else int(payload["step"]))
    eval_env = dataclasses.replace(cfg.env)
    quick = cfg.eval.for_validation()

    def evaluator(step: int) -> dict[str, float]:
        res = evaluate(agent, eval_env, quick, run_dir / "eval" / f"step_{step:08d}", progress=False)
        return {k: res[k] for k in ("success_rate", "mean_return", "mean_length")}

    recipe = Recipe(cfg.agent.steps, cfg.agent.batch_size, cfg.agent.warmup_steps, cfg.agent.grad_clip)
    trainer = OfflineTrainer(
        agent, data, recipe, cfg.trainer, run_dir, logger, device, cfg.seed, evaluator
    )
    if payload is not None:
        trainer.load_state(payload)
    try:
        # The policy's spec travels in every checkpoint, so `workbench eval` can rebuild it from one.
        skip = ("format", "version", "state_dict")
        spec = {k: v for k, v in policy_payload(agent).items() if k not in skip}
        trainer.fit(extra={**spec, "dataset": str(dataset_dir)})
        agent.save(run_dir / "policy.pt")
        results = final_eval(agent, cfg, run_dir)
        logger.log(trainer.step, results, prefix="eval/")
    finally:
        logger.close()
    print_summary(run_dir, results)
    return {"run_dir": str(run_dir), **results}


def print_summary(run_dir: Path, results: dict[str, Any]) -> None:
    print(f"run directory: {run_dir}")
    print(
        f"success_rate: {results['success_rate']:.3f} over {results['episodes']} episodes "
        f"(mean_return {results['mean_return']:.3f}, mean_length {results['mean_length']:.1f})"
    )
    if "expert_labels" in results:
        print(f"expert labels: {results['expert_labels']} after {results['dagger_rounds']} DAgger rounds")
    for video in results["videos"]:
        print(f"video: {video}")


def final_eval(agent: Any, cfg: TrainConfig, run_dir: Path) -> dict[str, Any]:
    from workbench.evaluate import evaluate

    settings: EvalSettings = cfg.eval
    return evaluate(
        agent,
        cfg.env,
        settings,
        run_dir / "eval",
        episodes_dir=run_dir / "episodes",
        progress=cfg.trainer.progress,
        extra={"policy": str(run_dir / "policy.pt")},
    )
