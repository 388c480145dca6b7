"""Shared fixtures: headless rendering, a small expert dataset made once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
# One OpenMP/torch thread per test process: pytest-xdist runs two workers on two cores, and CLI
# subprocesses inherit this (see the Makefile's test target).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parent.parent


def workbench_in_process(*args: str) -> tuple[int, str]:
    """The CLI's ``main`` in this process: (exit code, stderr). For bad input, which is refused before
    anything runs: a subprocess per case only added ~4 s of interpreter start (tests/workbench/
    test_cli.py checks the same one-line errors from a real subprocess)."""
    import contextlib
    import io

    from workbench.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(args))
    return code, err.getvalue()


def workbench_fails(*args: str) -> str:
    """Run the CLI expecting bad input: exit code 2 and one line on stderr, no traceback; that line."""
    code, err = workbench_in_process(*args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def workbench(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (as a user would) and capture its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"workbench {command} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def reach_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight expert episodes on Reach, recorded by `workbench collect`."""
    out = tmp_path_factory.mktemp("data") / "reach"
    workbench("collect", "env=wb/Reach-mujoco-v0", "policy=expert", "episodes=8", f"out={out}", "num_envs=2")
    return out


@pytest.fixture(scope="session")
def tabletop_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four expert episodes on Tabletop's seen instructions with a small agentview image, proprio, the
    instruction and the state (what the VLA agents train on), recorded by `workbench collect`."""
    out = tmp_path_factory.mktemp("data") / "tabletop"
    workbench(
        "collect", "env=wb/Tabletop-mujoco-v0", "env.obs_mode=state+rgb+proprio+instruction",
        "env.cameras=[agentview]", "env.width=48", "env.height=48", "env.instruction_split=seen",
        "episodes=4", f"out={out}", "num_envs=2",
    )  # fmt: skip
    return out


def assert_train_refused(cases: dict[tuple[str, ...], str], tmp_path: Path) -> None:
    """Each ``workbench train ARGS`` exits 2 with one line containing its message, leaving no run
    (in process: ``workbench_in_process``)."""
    for i, (args, message) in enumerate(cases.items()):
        run = tmp_path / f"run{i}"
        code, err = workbench_in_process("train", *args, f"run_dir={run}")
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, err)
        assert not run.exists(), "a refused run leaves no directory"
