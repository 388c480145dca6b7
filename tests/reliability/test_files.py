"""Operating-system faults (a full disk, a read-only file system), file modes, awkward paths, and
the recoveries that end with exit 0: resuming past a damaged checkpoint, extending a finished run,
appending to a dataset, cleaning a killed process's temporary files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import workbench
from foundation.files import CorruptFileError
from tests.reliability.conftest import flip_byte, small_filesystem, snapshot
from tests.reliability.test_faults import REACH, TRAIN
from workbench.cli import main
from workbench.data import iter_episodes, load_meta


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    _, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("collect ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_disk_full_during_training(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with small_filesystem(tmp_path / "small", "200k") as small:
        assert main([*TRAIN, f"dataset={data}", f"run_dir={small}/run"]) == 2
        line = one_error_line(capsys)
        assert "No space left on device" in line and f"{small}/run" in line
        assert not (small / "run").exists()  # it held no checkpoint: removed, a retry is not blocked


def test_disk_full_during_collection_keeps_a_valid_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with small_filesystem(tmp_path / "small", "48k") as small:
        assert main(["collect", REACH, "episodes=30", "num_envs=1", f"out={small}/d"]) == 2
        line = one_error_line(capsys)
        assert "No space left on device" in line and f"{small}/d" in line
        if (small / "d").exists():  # the episodes completed before the disk filled are all readable
            meta = load_meta(small / "d")
            assert len(list(iter_episodes(small / "d"))) == meta["num_episodes"]


def test_read_only_file_system(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with small_filesystem(tmp_path / "ro", readonly=True) as ro:
        assert main(["collect", REACH, "episodes=1", f"out={ro}/d"]) == 2
        assert "Read-only file system" in one_error_line(capsys)
        assert main([*TRAIN, f"dataset={data}", f"run_dir={ro}/run"]) == 2
        assert "Read-only file system" in one_error_line(capsys)


def test_files_follow_the_umask(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0o027)
    try:
        assert main(["collect", REACH, "episodes=1", "num_envs=1", f"out={tmp_path}/d"]) == 0
        assert main([*TRAIN, f"dataset={data}", f"run_dir={tmp_path}/run"]) == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "d").rglob("*") if p.is_file()]
    files += [p for p in (tmp_path / "run").rglob("*") if p.is_file() and "tb" not in p.parts]
    modes = {p.relative_to(tmp_path): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {"0o640"}, modes


def test_awkward_paths_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("with space", "données", "a=b"):
        assert main(["collect", REACH, "episodes=1", "num_envs=1", f"out={name}/d"]) == 0, name
        assert load_meta(tmp_path / name / "d")["num_episodes"] == 1


def test_a_corrupt_policy_file_is_named(run: Path) -> None:
    flip_byte(run / "policy.pt")
    with pytest.raises(CorruptFileError, match=r"policy\.pt is corrupt"):
        workbench.load_policy(run / "policy.pt")


def test_resume_falls_back_past_a_damaged_checkpoint(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "eval" / "results.json").unlink()  # as if killed during the final evaluation
    flip_byte(run / "checkpoints" / "step_00000020.pt")
    # A killed process's temporary file, and a live-looking one that is not ours to remove.
    orphan = run / "checkpoints" / f".step_00000030.pt.wbtmp-{2**22 + 7}-dead.pt"
    orphan.write_bytes(b"half")
    assert main(["train", f"resume={run}"]) == 0
    _, err = capsys.readouterr()
    assert "step_00000020.pt is corrupt" in err and "resuming from step_00000010.pt" in err
    assert (run / "eval" / "results.json").is_file() and not orphan.exists()


def test_extending_a_finished_run_keeps_its_earlier_results(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = snapshot(run / "eval" / "results.json", run / "policy.pt")
    assert main(["train", f"resume={run}", "agent.steps=30"]) == 0
    history = run / "history" / "step_00000020"
    kept = snapshot(history / "eval" / "results.json", history / "policy.pt")
    assert sorted(kept.values()) == sorted(earlier.values())
    assert "steps: 30" in (run / "config.yaml").read_text()
    record = json.loads((run / "resumes.jsonl").read_text().splitlines()[-1])
    assert record["changes"] == {"agent.steps": 30} and record["archived"] == "history/step_00000020"
    assert json.loads((run / "eval" / "results.json").read_text())["step"] == 30
    capsys.readouterr()


def test_append_continues_the_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main(["collect", REACH, "episodes=2", "num_envs=1", f"out={out}"]) == 0
    stale = out / "episodes" / f".episode_000002.npz.wbtmp-{2**22 + 7}-dead.npz"
    stale.write_bytes(b"half")
    assert main(["collect", REACH, "episodes=2", "num_envs=1", "append=true", f"out={out}"]) == 0
    meta = load_meta(out)
    assert [e["seed"] for e in meta["episodes"]] == [0, 1, 2, 3] and meta["complete"]
    assert not stale.exists()
    capsys.readouterr()
