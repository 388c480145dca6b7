"""The CLI: instant help, listings, and one actionable line with exit code 2 for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, workbench


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from workbench.cli import main\n"
        "for args in (['--help'], ['train', '--help'], ['eval', '--help'], ['replay', '--help'],\n"
        "             ['perception', '--help']):\n"
        "    assert main(args) == 0\n"
        "heavy = [m for m in ('torch', 'mujoco', 'ray', 'pybullet', 'hydra') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "env=" in proc.stdout and "wb/Push-mujoco-v0" in proc.stdout
    assert "agent=" in proc.stdout and "bc" in proc.stdout


def test_cli_names_every_bench_suite() -> None:
    """The CLI keeps the suite names itself (importing the bench command would slow `--help`): the two
    lists must agree, or `workbench bench NEW` is refused as unknown."""
    from workbench.cli import BENCH_SUITES
    from workbench.commands.bench import SUITES

    assert list(BENCH_SUITES) == list(SUITES)


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


# The bad-input table lives in tests/reliability/test_faults.py (in process, with every fault of
# docs/reliability.md); these check what only a real subprocess shows.
def test_bad_input_in_a_subprocess_is_one_line_exit_2(tmp_path: Path) -> None:
    assert "valid choices" in _fails("train", "env=wb/Nope-v0", f"runs_root={tmp_path}")


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


def test_every_registered_env_has_its_config_preset() -> None:
    """`env=<id>` is a config group: an env registered without its configs/env/ file cannot be chosen."""
    import envs

    presets = REPO / "configs" / "env"
    missing = [i for i in envs.ENV_IDS if not (presets / f"{i}.yaml").is_file()]
    assert not missing, f"configs/env/ lacks {missing}"
