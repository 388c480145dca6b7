"""``workbench collect``: record a dataset with the scripted expert (or a random policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import CollectConfig, EnvConfig
from workbench.errors import UserError


def make_policy(name: str, env_id: str, action_space: Any, seed: int, noise: float = 0.0) -> Any:
    """The non-learned policies: the task's scripted expert (optionally noisy) or uniform random."""
    from workbench.rollout import RandomPolicy

    if name == "expert":
        import envs

        return envs.make_expert(env_id, noise=noise, seed=seed)
    if name == "random":
        return RandomPolicy(action_space, seed=seed)
    raise UserError(f"policy={name!r} is not one of ['expert', 'random']")


def collect_dataset(
    env: EnvConfig,
    policy_name: str,
    episodes: int,
    seed: int,
    noise: float,
    success_only: bool,
    num_envs: int,
    backend: str,
    out: Path,
    append: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    import envs
    from workbench.evaluate import dataset_writer, env_factory
    from workbench.progress import ProgressBar
    from workbench.rollout import rollout

    factory = env_factory(env)
    probe = factory()
    try:
        writer = dataset_writer(probe, factory, env.cameras, out, append=append)
        action_space = probe.action_space
    finally:
        probe.close()
    policy = make_policy(policy_name, env.id, action_space, seed, noise)
    # Under DART noise the executed actions are perturbed; the clean expert labels every state.
    label_policy = envs.make_expert(env.id, noise=0.0, seed=seed) if policy_name == "expert" else None
    with ProgressBar("collect", episodes, enabled=progress) as bar:
        kept = rollout(
            factory,
            policy,
            episodes=episodes,
            seed=seed,
            num_envs=num_envs,
            backend=backend,
            label_policy=label_policy,
            keep=(lambda ep: ep.success) if success_only else None,
            on_episode=writer.add,
            progress=lambda done, total: bar.update(done),
        )
    writer.close()
    success = sum(ep.success for ep in kept) / len(kept)
    return {"out": str(out), "episodes": len(kept), "success_rate": success}


def run(cfg: CollectConfig) -> dict[str, Any]:
    assert cfg.out is not None
    result = collect_dataset(
        env=cfg.env,
        policy_name=cfg.policy,
        episodes=cfg.episodes,
        seed=cfg.seed,
        noise=cfg.noise,
        success_only=cfg.success_only,
        num_envs=cfg.num_envs,
        backend=cfg.backend,
        out=Path(cfg.out),
        append=cfg.append,
    )
    print(
        f"dataset: {result['out']}  episodes: {result['episodes']}  "
        f"success_rate: {result['success_rate']:.3f}"
    )
    return result
