"""An RL agent's policy as Stable-Baselines3's own ``.zip``, for people who use SB3 directly.

The file is SB3's format (``SAC.load("policy.zip")``), which stores part of its data with
cloudpickle: that is why the workbench only *writes* it and never loads one (its own checkpoints and
policy files are tensors and plain data, opened with ``weights_only=True``). The algorithm is rebuilt
from the run's config and specs, the trained policy's weights loaded into it, and saved without a
replay buffer.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import UserError


def export_sb3(run: Path, out: Path) -> Path:
    from agents.policy_io import load_policy
    from agents.rl.algorithms import ALGORITHMS, build_algorithm
    from foundation.files import atomic_path

    policy_file = run / "policy.pt" if run.is_dir() else run
    if not policy_file.is_file():
        raise UserError(f"{policy_file} not found: export format=sb3 needs a finished RL run (its policy.pt)")
    agent = load_policy(policy_file)
    if agent.name not in ALGORITHMS:
        raise UserError(
            f"{policy_file} is a {agent.name} policy; format=sb3 exports the SB3 agents "
            f"({', '.join(ALGORITHMS)})"
        )
    algo = build_algorithm(agent.config, agent.vec_env_of_spaces(), seed=0, device="cpu", acting=True)
    algo.policy.load_state_dict(agent.policy.state_dict())
    out = out if out.suffix == ".zip" else out.with_suffix(".zip")
    with atomic_path(out) as tmp:  # SB3 writes in place; a failure must not leave half a file
        algo.save(tmp)
    return out
