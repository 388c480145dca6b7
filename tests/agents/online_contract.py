"""The contract every online (RL) agent's finished run meets, checked where a test already trains one
(tests/agents/test_rl_agents.py for most agents; the model-based agents' resume test and the RLlib
kill-and-resume test for the others, so no agent trains twice just for this)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from agents.policy_io import load_policy
from tests.conftest import workbench, workbench_in_process


def assert_online_contract(name: str, run: Path, tmp_path: Path, episodes: int, videos: int) -> None:
    """The run directory every family writes, a policy file that alone rebuilds the acting policy, SB3's
    own export for SB3 agents (a one-line refusal for the others) and a verified replay."""
    for item in ("config.yaml", "policy.pt", "eval/results.json", "checkpoints/latest", "tb"):
        assert (run / item).exists(), item
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [m for m in metrics if "train/steps_per_s" in m]
    assert train and any("train/ep_return" in m for m in train)
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["episodes"] == episodes and len(results["videos"]) == videos

    # The policy file alone rebuilds the acting policy (no env, no SB3 pickle).
    policy = load_policy(run / "policy.pt")
    spec = torch.load(run / "policy.pt", weights_only=True)["obs_spec"]
    rng = np.random.default_rng(0)
    obs = {k: rng.normal(size=(3, *s["shape"])).astype(np.float32) for k, s in spec.items()}
    first = policy.act(obs)
    assert first.shape[0] == 3 and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, load_policy(run / "policy.pt").act(obs))

    # SB3's own file, for SB3 users: the same actions from SB3's loader (our own export: trusted). In
    # this process: a subprocess would only add the interpreter's and torch's start-up.
    from agents.rl.algorithms import ALGORITHMS, algorithm_class

    code, err = workbench_in_process("export", f"run={run}", "format=sb3", f"out={tmp_path / 'sb3.zip'}")
    if name in ALGORITHMS:
        assert code == 0 and (tmp_path / "sb3.zip").is_file(), err
        model = algorithm_class(name).load(tmp_path / "sb3.zip", device="cpu")
        sb3_obs = obs["state"] if list(obs) == ["state"] else obs  # a lone `state`: SB3's Box observation
        np.testing.assert_array_equal(model.predict(sb3_obs, deterministic=True)[0], first)
    else:
        assert code == 2 and "exports the SB3 agents" in err, err

    # The run's evaluation episodes replay (the real CLI, as a user runs it).
    episode = run / "episodes" / "episodes" / "episode_000000.npz"
    replayed = workbench("replay", f"episode={episode}", f"out={tmp_path / 'r.mp4'}", "width=32",
                         "height=32", "verify=true").stdout  # fmt: skip
    assert "verified" in replayed
