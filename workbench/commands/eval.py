"""``workbench eval run=RUN_DIR`` (a trained policy) or ``env=ID policy=expert|random``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import EvalConfig, load_train_config
from workbench.errors import UserError


def run(cfg: EvalConfig) -> dict[str, Any]:
    from workbench.evaluate import env_factory, evaluate

    settings = cfg.settings()
    if cfg.run is not None:
        from agents.policy_io import build_agent
        from workbench.checkpoint import latest_checkpoint, load_checkpoint
        from workbench.commands.train import pick_device

        run_dir = Path(cfg.run)
        if not run_dir.is_dir():
            raise UserError(f"run={run_dir}: no such run directory")
        train_cfg = load_train_config(run_dir / "config.yaml")
        env = train_cfg.env
        ckpt = Path(cfg.checkpoint) if cfg.checkpoint else latest_checkpoint(run_dir)
        if ckpt is None:
            raise UserError(f"run {run_dir} has no checkpoint yet (checkpoints/latest missing)")
        payload = load_checkpoint(ckpt)
        policy = build_agent({**payload, "state_dict": payload["model"]}, pick_device(cfg.device))
        policy.eval()
        out = Path(cfg.out) if cfg.out else run_dir / "eval"
        extra = {"checkpoint": str(ckpt), "step": int(payload["step"])}
        episodes_dir = run_dir / "episodes" if cfg.out is None else out / "episodes"
    else:
        from workbench.commands.collect import make_policy
        from workbench.commands.train import _with_state

        assert cfg.policy is not None
        env = cfg.env
        if cfg.policy == "expert":
            import dataclasses

            env = dataclasses.replace(env, obs_mode=_with_state(env.obs_mode))
        probe = env_factory(env)()
        action_space = probe.action_space
        probe.close()
        policy = make_policy(cfg.policy, env.id, action_space, cfg.seed)
        out = Path(cfg.out) if cfg.out else Path("eval") / f"{env.id.split('/')[-1]}_{cfg.policy}"
        extra = {"policy": cfg.policy}
        episodes_dir = out / "episodes"
    results = evaluate(policy, env, settings, out, episodes_dir=episodes_dir, extra=extra)
    print(f"results: {out / 'results.json'}")
    print(
        f"success_rate: {results['success_rate']:.3f}  mean_return: {results['mean_return']:.3f}  "
        f"mean_length: {results['mean_length']:.1f}  episodes: {results['episodes']}"
    )
    for video in results["videos"]:
        print(f"video: {video}")
    return results
