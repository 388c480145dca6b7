"""Recording datasets with a non-learned policy: the task's scripted expert (optionally with DART
noise, labelled by the clean expert) or uniform random actions. Used by ``workbench collect``,
by ``workbench train`` for its demonstrations, and by ``workbench eval policy=...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import EnvConfig
from workbench.errors import UserError


def no_expert_message(env_id: str) -> str:
    return (
        f"{env_id} has no scripted expert (only the wb/<Task>-<sim>-v0 tasks have one); "
        "use policy=random, or train on a recorded dataset=DIR"
    )


def make_policy(
    name: str, env_id: str, action_space: Any, seed: int, noise: float = 0.0, controller: str | None = None
) -> Any:
    """The non-learned policies: the task's scripted expert (optionally noisy) or uniform random."""
    from workbench.sampler import RandomPolicy

    if name == "expert":
        import envs

        if env_id not in envs.TASK_ENV_IDS:
            raise UserError(no_expert_message(env_id))
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
    seed: int | None,
    noise: float,
    success_only: bool,
    num_envs: int,
    backend: Any,
    out: Path,
    append: bool = False,
    progress: bool = True,
    max_seed: int | None = None,
) -> dict[str, Any]:
    """Record ``episodes`` episodes from seeds ``seed, seed + 1, ...`` (skipping failures with
    ``success_only``, never past ``max_seed``: the end of the seed plan's range). ``seed`` None: 0 for
    a new dataset, the seed after the last one recorded when appending; an explicit seed whose
    episodes would repeat seeds already in the dataset is refused (they would be exact duplicates).
    A failed collection keeps the episodes it completed; one that completed none leaves no dataset."""
    import envs
    from workbench.evaluate import dataset_writer, env_factory
    from workbench.progress import ProgressBar
    from workbench.sampler import rollout

    factory = env_factory(env)
    if policy_name == "expert":  # before the dataset directory exists: a refusal leaves nothing
        make_policy(policy_name, env.id, None, 0, noise, env.controller)
    probe = factory()
    try:
        writer = dataset_writer(probe, factory, env.cameras, out, append=append)
        action_space = probe.action_space
    finally:
        probe.close()
    with writer:  # closed (complete) on success, aborted on any failure or interrupt
        seed = _first_seed(writer, seed, episodes * (10 if success_only else 1))
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
    success = sum(ep.success for ep in kept) / len(kept)
    return {"out": str(out), "episodes": len(kept), "success_rate": success, "first_seed": seed}


def _first_seed(writer: Any, seed: int | None, budget: int) -> int:
    """Where the collection starts: after the dataset's last seed unless given; never on seeds the
    dataset already holds (appended episodes would be byte-identical duplicates)."""
    from workbench.config.seeds import format_seeds

    existing = writer.seeds
    if seed is None:
        return max(existing) + 1 if existing else 0
    clash = sorted(set(existing) & set(range(seed, seed + budget)))
    if clash:
        raise UserError(
            f"seed={seed}: {writer.root} already has episodes with seeds {format_seeds(clash)}, which would "
            f"be recorded again; leave seed unset to continue after {max(existing)}"
        )
    return seed
