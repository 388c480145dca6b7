"""Fixtures of the fault-injection suite: a small dataset and a small finished run (made once per
test process), copied into each test's own directory so that every case starts from pristine files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import workbench

# A run small enough to make in seconds: 20 BC steps on Reach, checkpoints at 10 and 20.
RUN_ARGS = (
    "env=wb/Reach-mujoco-v0", "agent.steps=20", "trainer.checkpoint_every=10", "trainer.log_every=5",
    "eval.episodes=2", "eval.video_episodes=1", "eval.num_envs=1", "trainer.progress=false",
)  # fmt: skip


@pytest.fixture(scope="session")
def pristine_run(tmp_path_factory: pytest.TempPathFactory, reach_dataset: Path) -> Path:
    run = tmp_path_factory.mktemp("pristine") / "run"
    workbench("train", *RUN_ARGS, f"dataset={reach_dataset}", f"run_dir={run}")
    return run


@pytest.fixture
def data(tmp_path: Path, reach_dataset: Path) -> Path:
    """This test's own copy of the 8-episode Reach dataset."""
    out = tmp_path / "data"
    shutil.copytree(reach_dataset, out)
    return out


@pytest.fixture
def run(tmp_path: Path, pristine_run: Path) -> Path:
    """This test's own copy of the finished run (its checkpoints name the copied dataset)."""
    out = tmp_path / "run"
    shutil.copytree(pristine_run, out)
    return out


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots`` (the lock file aside: taking a lock is not a change)."""
    out = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            if p.name != ".lock":
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def flip_byte(path: Path, where: float = 0.5) -> None:
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * where)] ^= 0x01
    path.write_bytes(bytes(raw))


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "256k", readonly: bool = False) -> Iterator[Path]:
    """A size-limited (or read-only) tmpfs at ``path``; the test is skipped unless it runs as root."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if readonly else "")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
