"""A small Python API for notebooks and scripts, over the same code the CLI runs::

    import workbench
    policy = workbench.load_policy("runs/2026-11-29/12-00-00_Push-mujoco-v0_bc")
    env = workbench.make_env("wb/Push-mujoco-v0", obs_mode="state")
    obs, info = env.reset(seed=1_000_000)          # a test seed of the default seed plan
    action = policy.act({k: v[None] for k, v in obs.items()})[0]   # policies act on batches
    results = workbench.evaluate_policy(policy, "wb/Push-mujoco-v0", episodes=10, out="eval/notebook")

Imports are lazy (``workbench.<name>`` loads this module on first use), so ``workbench --help``
stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.base import LearnedPolicy, Policy


def load_policy(path: str | Path, checkpoint: str | Path | None = None, device: str = "cpu") -> LearnedPolicy:
    """A trained policy from a run directory (its ``policy.pt``, or ``checkpoint=`` / the latest
    checkpoint when the run has not finished) or from a policy file, in eval mode."""
    from agents.policy_io import build_agent
    from agents.policy_io import load_policy as load_policy_file
    from workbench.checkpoint import latest_checkpoint, load_checkpoint

    path = Path(path)
    if path.is_file():
        policy = load_policy_file(path, device)
    elif not path.is_dir():
        raise FileNotFoundError(f"{path} is neither a run directory nor a policy file")
    elif checkpoint is None and (path / "policy.pt").is_file():
        policy = load_policy_file(path / "policy.pt", device)
    else:
        ckpt = Path(checkpoint) if checkpoint is not None else latest_checkpoint(path)
        if ckpt is None:
            raise FileNotFoundError(f"run {path} has neither policy.pt nor a checkpoint yet")
        payload = load_checkpoint(ckpt)
        policy = build_agent({**payload, "state_dict": payload["model"]}, device)
    policy.eval()
    return policy


def make_env(env_id: str = "wb/Push-mujoco-v0", **env: Any) -> Any:
    """A Gymnasium env as ``workbench train env=...`` builds it; keywords are ``env.*`` keys
    (``obs_mode``, ``cameras``, ``width``, ``height``, ``controller``, ``max_episode_steps``)."""
    from workbench.config import EnvConfig
    from workbench.evaluate import env_factory

    return env_factory(EnvConfig(id=env_id, **env))()


def evaluate_policy(
    policy: Policy,
    env_id: str = "wb/Push-mujoco-v0",
    episodes: int = 50,
    split: str = "test",
    out: str | Path | None = None,
    num_envs: int = 4,
    video: bool = False,
    **env: Any,
) -> dict[str, Any]:
    """Score ``policy`` on seeded episodes of the seed plan's ``split`` (a new record under ``out``,
    or a temporary directory); returns the results dict that results.json holds."""
    import tempfile

    from workbench.config import EnvConfig, EvalSettings, SeedPlan
    from workbench.evaluate import check_new_or_empty
    from workbench.evaluate import evaluate as run_evaluation

    settings = EvalSettings(episodes=episodes, split=split, num_envs=num_envs, video=video)
    settings = settings.resolved(SeedPlan())
    config = EnvConfig(id=env_id, **env)
    if out is not None:
        check_new_or_empty(Path(out))
        return run_evaluation(policy, config, settings, Path(out), progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        return run_evaluation(policy, config, settings, Path(tmp), progress=False)
