"""Recording datasets with a non-learned policy: the task's scripted expert (optionally with DART
noise, labelled by the clean expert) or uniform random actions. Used by ``workbench collect``,
by ``workbench train`` for its demonstrations, and by ``workbench eval policy=...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import EnvConfig
from workbench.errors import UserError


def make_policy(
    name: str, env_id: str, action_space: Any, seed: int, noise: float = 0.0, controller: str | None = None
) -> Any:
    """The non-learned policies: the task's scripted expert (optionally noisy) or uniform random."""
    from workbench.rollout import RandomPolicy

    if name == "expert":
        import envs

        try:
            return envs.make_expert(env_id, noise=noise, seed=seed, controller=controller)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
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
    max_seed: int | None = None,
) -> dict[str, Any]:
    """Record ``episodes`` episodes from seeds ``seed, seed + 1, ...`` (skipping failures with
    ``success_only``, never past ``max_seed``: the end of the seed plan's range)."""
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
    policy = make_policy(policy_name, env.id, action_space, seed, noise, env.controller)
    # Under DART noise the executed actions are perturbed; the clean expert labels every state.
    label_policy = (
        envs.make_expert(env.id, noise=0.0, seed=seed, controller=env.controller)
        if policy_name == "expert"
        else None
    )
    attempts = 10 * episodes if max_seed is None else min(10 * episodes, max_seed - seed)
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
            max_attempts=attempts,
            progress=lambda done, total: bar.update(done),
        )
    writer.close()
    success = sum(ep.success for ep in kept) / len(kept)
    return {"out": str(out), "episodes": len(kept), "success_rate": success}
