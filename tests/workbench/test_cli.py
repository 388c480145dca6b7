"""The CLI: instant help, listings, and one actionable line with exit code 2 for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, workbench


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from workbench.cli import main\n"
        "for args in (['--help'], ['train', '--help'], ['eval', '--help'], ['replay', '--help']):\n"
        "    assert main(args) == 0\n"
        "heavy = [m for m in ('torch', 'mujoco', 'ray', 'pybullet', 'hydra') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "env=" in proc.stdout and "wb/Push-mujoco-v0" in proc.stdout
    assert "agent=" in proc.stdout and "bc" in proc.stdout


def test_train_help_lists_keys() -> None:
    proc = workbench("train", "--help")
    for key in ("seed", "run_dir", "dataset", "resume", "eval.episodes", "trainer.checkpoint_every"):
        assert key in proc.stdout


def test_list_shows_registries() -> None:
    out = workbench("list").stdout
    assert "wb/Push-mujoco-v0" in out and "wb/Reach-mujoco-v0" in out
    assert "bc" in out and "smoke" in out


def _fails(*args: str) -> str:
    proc = workbench(*args, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("train", "env=wb/Nope-v0"), "valid choices"),
        (("train", "agent=nope"), "valid choices: bc"),
        (("train", "agent.lr=abc"), "agent.lr"),
        (("train", "agent.lr=-1"), "agent.lr"),
        (("train", "agent.nope=1"), "agent.nope"),
        (("train", "seed=x"), "seed"),
        (("train", "eval.episodes=0"), "episodes"),
        (("train", "device=tpu"), "device"),
        (("train", "notakeyvalue"), "key=value"),
        (("frobnicate",), "unknown command"),
        (("eval",), "run=RUN_DIR"),
        (("eval", "run=/nonexistent/run"), "/nonexistent/run"),
        (("eval", "env=wb/Push-mujoco-v0", "policy=genius"), "policy"),
        (("collect", "env=wb/Push-mujoco-v0"), "out=DIR"),
        (("replay", "episode=/nonexistent/ep.npz"), "/nonexistent/ep.npz"),
        (("train", "resume=/nonexistent/run"), "/nonexistent/run"),
        (("train", "dataset=/nonexistent/data", "experiment=smoke"), "/nonexistent/data"),
        (("bench",), "suite"),
    ],
)
def test_bad_input_one_line_exit_2(args: tuple[str, ...], expect: str, tmp_path: Path) -> None:
    # runs_root in tmp: a train that fails after opening its run directory must not litter the repo.
    extra = (f"runs_root={tmp_path}",) if args[0] == "train" else ()
    assert expect in _fails(*args, *extra)


def test_corrupt_checkpoint_is_reported(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}",
        f"run_dir={run}", "eval.video=false",
    )
    latest = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    latest.write_bytes(latest.read_bytes()[:100])
    assert "corrupt" in _fails("eval", f"run={run}", "episodes=2")
    assert "corrupt" in _fails("train", f"resume={run}")


def test_debug_shows_traceback() -> None:
    proc = workbench("eval", "run=/nonexistent/run", "debug=true", check=False)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_bare_camera_mode_expands_to_every_camera() -> None:
    from workbench.config import compose

    cfg = compose(
        "train", ["agent=bc_rgb", "env.obs_mode=rgb+proprio", "env.cameras=[agentview,wrist]"]
    )
    assert cfg.agent.obs_keys == ["rgb/agentview", "rgb/wrist", "proprio"]
    cfg = compose("train", ["experiment=push_diffusion_rgb"])
    assert cfg.agent.obs_keys == ["rgb/agentview", "proprio"]
