"""Data-parallel training (trainer.world_size=2 on CPU, gloo): the same weights as one process with
the same global batch, and checkpoints that resume exactly under DDP (every rank's RNG restored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from workbench.cli import main

COMMON = [
    "train", "env=wb/Reach-mujoco-v0", "agent.steps=30", "trainer.checkpoint_every=10", "eval.episodes=1",
    "eval.video=false", "trainer.progress=false",
]  # fmt: skip
pytestmark = pytest.mark.xdist_group("distributed")


def _flat(state: dict[str, Any], prefix: str = "") -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, torch.Tensor):
            out[prefix + key] = value
    return out


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return _flat(torch.load(run / "policy.pt", weights_only=True)["state_dict"])


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def test_two_processes_reach_the_weights_of_one(tmp_path: Path, reach_dataset: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*COMMON, f"dataset={reach_dataset}", f"run_dir={one}"]) == 0
    assert main([*COMMON, f"dataset={reach_dataset}", f"run_dir={two}", "trainer.world_size=2"]) == 0
    # Same global batch of 64, split 32 + 32 and averaged by DDP: equal up to float summation order.
    assert _max_difference(_weights(one), _weights(two)) < 1e-5
    ckpt = torch.load(two / "checkpoints" / "step_00000030.pt", weights_only=True)
    assert len(ckpt["rng_ranks"]) == 2  # rank 0 wrote every rank's generators


def test_resume_under_ddp_is_exact(tmp_path: Path, reach_dataset: Path) -> None:
    # Diffusion draws noise from each rank's own generator: resuming must restore every rank's RNG.
    import shutil

    args = [*COMMON, "agent=diffusion", f"dataset={reach_dataset}", "trainer.world_size=2",
            "agent.num_inference_steps=4", "env.max_episode_steps=10", "agent.down_dims=[16,32]",
            "agent.step_embed_dim=16"]  # fmt: skip
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main([*args, f"run_dir={straight}"]) == 0
    shutil.copytree(straight, resumed)  # the same run (training is deterministic: the test above)
    # As if killed after step 10: back to that checkpoint, the final outputs gone.
    (resumed / "checkpoints" / "latest").write_text("step_00000010.pt\n")
    for name in ("step_00000020.pt", "step_00000030.pt"):
        (resumed / "checkpoints" / name).unlink()
    (resumed / "eval" / "results.json").unlink()
    (resumed / "policy.pt").unlink()
    assert main(["train", f"resume={resumed}"]) == 0
    assert _max_difference(_weights(straight), _weights(resumed)) == 0.0


def test_a_batch_that_does_not_split_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COMMON, "trainer.world_size=3", f"runs_root={tmp_path}"]) == 2
    assert "does not split over trainer.world_size=3" in capsys.readouterr().err


def test_sigterm_to_the_parent_stops_every_rank_with_a_checkpoint(
    tmp_path: Path, reach_dataset: Path
) -> None:
    import json
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    run = tmp_path / "run"
    args = [*COMMON, "agent.steps=100000", "trainer.log_every=10", f"dataset={reach_dataset}",
            f"run_dir={run}", "trainer.world_size=2"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 143, err
    assert len(lines) == 1 and "terminated" in lines[0] and f"resume={run}" in lines[0], err
    step = int(lines[0].split("stopped at step ")[1].split()[0])
    assert (run / "checkpoints" / "latest").read_text().strip() == f"step_{step:08d}.pt"
    assert json.loads(metrics.read_text().splitlines()[-1])["step"] <= step
