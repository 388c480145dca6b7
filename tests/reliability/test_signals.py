"""Kills, signals and concurrent writers, through the real CLI in a subprocess.

A run killed at a random training step, or half-way through writing a checkpoint, resumes to exactly
the weights of the uninterrupted run; SIGTERM and SIGINT stop at a step boundary with a checkpoint
and one line; a second writer on a live run is refused naming the pid; an interrupted evaluation
leaves the run's earlier records as they were. Faults are injected by ``faulty_cli.py``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import REPO, workbench
from tests.reliability.conftest import snapshot

FAULTY_CLI = Path(__file__).with_name("faulty_cli.py")
ARGS = (
    "train", "env=wb/Reach-mujoco-v0", "agent.steps=40", "trainer.checkpoint_every=10", "trainer.log_every=5",
    "eval.episodes=1", "eval.video=false", "trainer.progress=false",
)  # fmt: skip
pytestmark = pytest.mark.xdist_group("signals")  # one worker: these share the uninterrupted run


def faulty(fault: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WB_FAULT": fault, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(FAULTY_CLI), *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def weights(run: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(run / "policy.pt", weights_only=True)["state_dict"]
    return state


def assert_same_weights(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert_same_weights(a[key], b[key])
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".wbtmp-" in p.name]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory, reach_dataset: Path) -> dict[str, torch.Tensor]:
    run = tmp_path_factory.mktemp("straight") / "run"
    workbench(*ARGS, f"dataset={reach_dataset}", f"run_dir={run}")
    return weights(run)


def test_sigkill_at_a_random_step_resumes_to_the_same_weights(
    tmp_path: Path, reach_dataset: Path, straight: dict[str, torch.Tensor]
) -> None:
    step = random.Random().randint(1, 38)  # a different step every time the suite runs
    run = tmp_path / "run"
    killed = faulty(f"kill:{step}", *ARGS, f"dataset={reach_dataset}", f"run_dir={run}")
    assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
    assert not (run / "policy.pt").exists()
    resumed = workbench("train", f"resume={run}")
    assert "resuming" in resumed.stdout
    assert_same_weights(straight, weights(run)), f"killed at step {step}"
    assert not temp_files(run)


def test_sigkill_while_writing_a_checkpoint_resumes_from_the_previous_one(
    tmp_path: Path, reach_dataset: Path, straight: dict[str, torch.Tensor]
) -> None:
    run = tmp_path / "run"
    killed = faulty("kill_in_save:step_00000020", *ARGS, f"dataset={reach_dataset}", f"run_dir={run}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ckpts = run / "checkpoints"
    assert (ckpts / "latest").read_text().strip() == "step_00000010.pt"  # never pointed at the half file
    assert temp_files(ckpts), "the half-written temporary file should be there to clean"
    assert "from step_00000010.pt" in workbench("train", f"resume={run}").stdout
    assert_same_weights(straight, weights(run))
    assert not temp_files(run)


@pytest.mark.parametrize(
    ("fault", "code", "word"), [("term", 143, "terminated"), ("int", 130, "interrupted")]
)
def test_sigterm_and_sigint_stop_with_a_checkpoint(
    fault: str, code: int, word: str, tmp_path: Path, reach_dataset: Path, straight: dict[str, torch.Tensor]
) -> None:
    run = tmp_path / "run"
    stopped = faulty(f"{fault}:13", *ARGS, f"dataset={reach_dataset}", f"run_dir={run}")
    lines = [ln for ln in stopped.stderr.splitlines() if ln.strip()]
    assert stopped.returncode == code, stopped.stderr
    assert len(lines) == 1 and word in lines[0] and f"resume={run}" in lines[0], stopped.stderr
    assert "Traceback" not in stopped.stderr
    # The signal arrived during step 14: the step finished, its checkpoint was written, then it stopped.
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_00000014.pt"
    workbench("train", f"resume={run}")
    assert_same_weights(straight, weights(run))


def test_a_live_run_is_locked(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "WB_FAULT": "sleep:3", "PYTHONPATH": str(REPO)}
    live = subprocess.Popen(
        [sys.executable, str(FAULTY_CLI), *ARGS, f"dataset={reach_dataset}", f"run_dir={run}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert live.stdout is not None
        for line in live.stdout:  # wait until it holds the run
            if "sleeping" in line:
                break
        second = workbench("train", f"resume={run}", check=False)
        assert second.returncode == 2, second.stderr
        assert f"pid {live.pid}" in second.stderr and "Traceback" not in second.stderr
    finally:
        live.kill()
        live.wait()
    # Killed, the lock is gone with it: the run resumes.
    workbench("train", f"resume={run}")
    assert (run / "policy.pt").is_file()


def test_an_interrupted_eval_leaves_earlier_records_as_they_were(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    workbench(*ARGS[:1], "env=wb/Reach-mujoco-v0", "agent.steps=10", "eval.episodes=1",
              "eval.video_episodes=1", f"dataset={reach_dataset}", f"run_dir={run}")  # fmt: skip
    before = snapshot(run)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "eval", f"run={run}", "episodes=30", "num_envs=1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not temp_files(run / "eval") and time.monotonic() < deadline:
        time.sleep(0.05)  # until the new record's staging directory exists
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert snapshot(run) == before
    assert not temp_files(run)
