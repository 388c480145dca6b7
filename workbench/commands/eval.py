"""``workbench eval run=RUN_DIR`` (a trained policy) or ``env=ID policy=expert|random``.

For ``run=`` the env is the run's own; ``env.perception=PERCEPTION_RUN`` feeds its task state from a
perception model instead of the simulator (``perception.in_the_loop``), and ``env.perception=off``
evaluates a run trained with perception on the simulator's state.

Every evaluation writes a new record directory (results.json, videos/, episodes/) and never touches
an earlier one: ``RUN_DIR/eval/<checkpoint>_<split>_s<seed>_n<episodes>[-k]/`` for a run, ``out=DIR``
(new or empty) when given. A learned policy is refused seeds that appear in its training data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from workbench.config import EvalConfig, load_train_config
from workbench.errors import UserError, one_line


def run(cfg: EvalConfig) -> dict[str, Any]:
    from workbench.evaluate import check_new_or_empty, evaluate, staged_dir

    if cfg.out is not None:
        check_new_or_empty(Path(cfg.out))
    if cfg.run is not None:
        policy, env, settings, default_out, extra = _trained_policy(cfg)
    else:
        policy, env, settings, default_out, extra = _scripted_policy(cfg)
    final = Path(cfg.out) if cfg.out is not None else default_out
    with staged_dir(final) as stage:
        results = evaluate(
            policy, env, settings, stage, episodes_dir=stage / "episodes", extra=extra, backend=cfg.backend
        )
    print(f"results: {final / 'results.json'}")
    print(
        f"success_rate: {results['success_rate']:.3f}  mean_return: {results['mean_return']:.3f}  "
        f"mean_length: {results['mean_length']:.1f}  episodes: {results['episodes']}  "
        f"({results['split']} seeds from {results['first_seed']})"
    )
    for video in results["videos"]:
        print(f"video: {final / video}")
    return {**results, "out": str(final)}


def _trained_policy(cfg: EvalConfig) -> tuple[Any, Any, Any, Path, dict[str, Any]]:
    from agents.policy_io import build_agent
    from workbench.checkpoint import latest_checkpoint, load_checkpoint
    from workbench.evaluate import record_dir
    from workbench.provenance import config_hash
    from workbench.train.device import pick_device

    assert cfg.run is not None
    run_dir = Path(cfg.run)
    if not run_dir.is_dir():
        raise UserError(f"run={run_dir}: no such run directory")
    train_cfg = load_train_config(run_dir / "config.yaml")
    if cfg.env.perception is not None:  # the run's env, its objects seen by a perception model (or not: off)
        seen = None if cfg.env.perception == "off" else cfg.env.perception
        train_cfg = dataclasses.replace(train_cfg, env=dataclasses.replace(train_cfg.env, perception=seen))
    train_cfg = dataclasses.replace(train_cfg, env=deployed_env(train_cfg.env, cfg.sim, cfg.nominal))
    if cfg.instructions is not None:  # Tabletop's held-out instruction splits (envs.tasks.language_splits)
        try:
            env = dataclasses.replace(train_cfg.env, instruction_split=cfg.instructions)
        except ValueError as exc:  # EnvConfig refuses a split on a task without instructions
            raise UserError(f"instructions={cfg.instructions}: {one_line(exc)}") from exc
        train_cfg = dataclasses.replace(train_cfg, env=env)
    settings = cfg.settings(train_cfg.seeds)  # the run's own seed plan
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else latest_checkpoint(run_dir)
    if ckpt is None:
        raise UserError(f"run {run_dir} has no checkpoint yet (checkpoints/latest missing)")
    payload = load_checkpoint(ckpt)
    check_fits_env(payload, ckpt, train_cfg.env)
    overrides = acting_overrides(payload["agent"], cfg.agent)
    payload = {**payload, "config": {**payload["config"], **overrides}, "state_dict": payload["model"]}
    try:
        policy = build_agent(payload, pick_device(cfg.device))
    except ValueError as exc:  # an acting override the agent's config refuses
        raise UserError(f"agent overrides {overrides}: {exc}") from exc
    policy.eval()
    check_held_out(payload, settings.first_seed, settings.episodes, cfg.allow_train_seeds, run_dir)
    name = f"{ckpt.stem}_{settings.split}_s{settings.first_seed}_n{settings.episodes}"
    if cfg.env.perception is not None:
        name += "_true_state" if cfg.env.perception == "off" else "_perceived"
    if cfg.sim is not None:
        name += f"_in_{cfg.sim}"
    if cfg.nominal:
        name += "_nominal"
    if cfg.instructions is not None:
        name += f"_{cfg.instructions}"
    extra = {
        "run": str(run_dir),
        "checkpoint": str(ckpt),
        "step": int(payload["step"]),
        "acting_overrides": overrides,
        "config_hash": config_hash((run_dir / "config.yaml").read_text()),
        "allow_train_seeds": cfg.allow_train_seeds,
        "perception": cfg.env.perception,
        "sim": cfg.sim,
        "nominal": cfg.nominal,
        "instructions": train_cfg.env.instruction_split,
        "env_id": train_cfg.env.id,
    }
    return policy, train_cfg.env, settings, record_dir(run_dir / "eval", name), extra


def deployed_env(env: Any, sim: str | None, nominal: bool) -> Any:
    """The run's env as evaluated: its task in simulator ``sim`` (``wb/<Task>-<sim>-v0``; the same
    layouts for the same seeds, the same action and observation meanings) and, ``nominal``, without
    its sim-to-real training tools."""
    import envs

    if nominal:
        env = env.without_sim2real()
    if sim is not None:
        name, _, rest = env.id.removeprefix("wb/").partition("-")
        env_id = f"wb/{name}-{sim}-{rest.partition('-')[2]}"
        if env_id not in envs.ENV_IDS:
            raise UserError(f"sim={sim}: the run's env {env.id} has no {sim} twin ({env_id} is unregistered)")
        env = dataclasses.replace(env, id=env_id)
    return env


def _scripted_policy(cfg: EvalConfig) -> tuple[Any, Any, Any, Path, dict[str, Any]]:
    from workbench.collect import make_policy
    from workbench.evaluate import env_factory, record_dir
    from workbench.train.demos import with_state

    assert cfg.policy is not None
    settings = cfg.settings(cfg.seeds)
    env = cfg.env
    if cfg.policy == "expert":
        env = dataclasses.replace(env, obs_mode=with_state(env.obs_mode))
    probe = env_factory(env)()
    action_space = probe.action_space
    probe.close()
    policy = make_policy(cfg.policy, env.id, action_space, settings.first_seed, controller=env.controller)
    task = env.id.split("/")[-1]
    name = f"{task}_{cfg.policy}_{settings.split}_s{settings.first_seed}_n{settings.episodes}"
    return policy, env, settings, record_dir(Path("eval"), name), {"policy": cfg.policy}


def check_fits_env(payload: dict[str, Any], ckpt: Path, env: Any) -> None:
    """A checkpoint reads the observations and writes the actions of the env it was trained on: one
    from another env (``checkpoint=`` of another run) is refused naming both envs and the mismatch."""
    from workbench.data import observation_spec, spec_from_space
    from workbench.evaluate import env_factory

    probe = env_factory(env)()
    try:
        obs_spec, action_spec = observation_spec(probe.observation_space), spec_from_space(probe.action_space)
    finally:
        probe.close()
    keys = payload.get("config", {}).get("obs_keys") or list(payload.get("obs_spec", {}))
    mismatch = [
        f"{k} {payload['obs_spec'].get(k, {}).get('shape')} vs {obs_spec.get(k, {}).get('shape')}"
        for k in keys
        if payload["obs_spec"].get(k, {}).get("shape") != obs_spec.get(k, {}).get("shape")
    ]
    if payload.get("action_spec", {}).get("shape") != action_spec.get("shape"):
        mismatch.append(f"action {payload['action_spec'].get('shape')} vs {action_spec.get('shape')}")
    if mismatch:
        trained_on = payload.get("env_id") or _dataset_env(payload) or "another env"
        raise UserError(
            f"checkpoint {ckpt} was trained on {trained_on} but this run's env is {env.id}: "
            f"{'; '.join(mismatch)} (checkpoint vs env); evaluate it with its own run"
        )


def _dataset_env(payload: dict[str, Any]) -> str | None:
    from workbench.data import load_meta

    try:
        return str(load_meta(payload["dataset"])["env_id"])
    except (KeyError, OSError, ValueError):
        return None


def acting_overrides(agent_name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Check ``agent.<key>=`` overrides at eval: only keys that change acting, not the network."""
    from agents.registry import get_spec

    spec = get_spec(agent_name)
    bad = sorted(set(overrides) - set(spec.acting_keys))
    if bad:
        raise UserError(
            f"agent.{bad[0]} cannot be changed at evaluation (it shapes the trained network); "
            f"{agent_name} accepts acting overrides {', '.join(f'agent.{k}' for k in spec.acting_keys)}"
        )
    return dict(overrides)


def check_held_out(payload: dict[str, Any], first: int, count: int, allow: bool, run_dir: Path) -> None:
    """Refuse (exit 2) to score a policy on seeds that appear in the data it was trained on."""
    from workbench.config.seeds import format_seeds, overlap
    from workbench.data import episode_seeds

    dataset = payload.get("dataset")
    if dataset is None or allow:
        return
    try:
        trained = episode_seeds(dataset)
    except FileNotFoundError as exc:
        raise UserError(
            f"cannot check the evaluation seeds against {run_dir}'s training data ({exc}); "
            "pass allow_train_seeds=true to evaluate anyway"
        ) from exc
    seen = overlap(range(first, first + count), trained)
    if seen:
        raise UserError(
            f"seeds {format_seeds(seen)} appear in the training data of {run_dir} ({dataset}); evaluate "
            "on held-out seeds (split=test or split=validation), or pass allow_train_seeds=true"
        )
