"""End to end through the real CLI: train -> eval -> replay verify, and kill-and-resume determinism."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, workbench


@pytest.mark.slow
def test_train_eval_replay(tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = workbench("train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"run_dir={run}").stdout
    assert str(run) in out and "success_rate" in out
    for name in ("config.yaml", "metrics.jsonl", "policy.pt", "eval/results.json", "demos/meta.json"):
        assert (run / name).is_file(), name
    assert list((run / "tb").iterdir()), "no TensorBoard events"
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["episodes"] == 4 and len(results["seeds"]) == 4 and results["videos"]
    assert all((run / "eval" / v).stat().st_size > 1000 for v in results["videos"])
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == 200 and any("train/loss" in m for m in metrics)

    first = (run / "eval" / "results.json").read_text()
    evaluated = workbench("eval", f"run={run}", "episodes=3", "seed=5", "video=false").stdout
    assert "success_rate" in evaluated
    record = run / "eval" / "step_00000200_demos_s5_n3" / "results.json"
    again = json.loads(record.read_text())
    assert again["seeds"] == [5, 6, 7] and again["videos"] == [] and again["split"] == "demos"
    assert (run / "eval" / "results.json").read_text() == first, "the run's own evaluation changed"

    episode = run / "episodes" / "episodes" / "episode_000000.npz"
    video = tmp_path / "replay.mp4"
    replayed = workbench("replay", f"episode={episode}", f"out={video}", "camera=top", "width=64",
                         "height=48", "verify=true").stdout
    assert "verified" in replayed and video.stat().st_size > 500

    report = workbench("report", f"run={run}", f"out={tmp_path / 'report'}", "size=32").stdout
    assert "learning_curve.png" in report
    for name in ("learning_curve.png", "frames.png", "paths.png"):  # paths: a Panda task's overlay
        assert (tmp_path / "report" / name).stat().st_size > 500


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "policy.pt", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted(tmp_path: Path, reach_dataset: Path) -> None:
    common = [
        "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent.steps=1200",
        "trainer.checkpoint_every=300", "eval.video=false", "eval.episodes=4",
    ]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    workbench("train", *common, f"run_dir={straight}")

    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "train", *common, f"run_dir={killed}"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    latest = killed / "checkpoints" / "latest"
    deadline = time.time() + 300
    while not latest.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "policy.pt").exists(), "the run finished before it could be killed"

    workbench("train", f"resume={killed}")
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key
    ra = json.loads((straight / "eval" / "results.json").read_text())
    rb = json.loads((killed / "eval" / "results.json").read_text())
    for key in ("success_rate", "mean_return", "mean_length", "seeds"):
        assert ra[key] == rb[key], key
    steps = [json.loads(ln)["step"] for ln in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps), "metrics.jsonl repeats steps after resume"
