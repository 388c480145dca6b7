"""Atomic writes leave either the old or the new file; loaders name the culprit path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.io import (
    CorruptFileError,
    atomic_path,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    load_json,
    load_npz,
)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "sub" / "a.txt", "hello")  # parent dirs are created
    atomic_write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": np.arange(3), "z": [1, "a"]})
    arrays_in: dict[str, np.ndarray] = {"obs/state": np.ones((3, 2), np.float32), "n": np.arange(4)}
    atomic_save_npz(tmp_path / "a.npz", **arrays_in)
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "sub" / "a.txt").read_text() == "hello"
    assert load_json(tmp_path / "a.json") == {"x": 1.5, "y": [0, 1, 2], "z": [1, "a"]}
    arrays = load_npz(tmp_path / "a.npz")
    assert set(arrays) == {"obs/state", "n"}  # '/' survives in npz keys
    np.testing.assert_array_equal(arrays["obs/state"], np.ones((3, 2), np.float32))
    assert set(load_npz(tmp_path / "a.npz", keys=["n"])) == {"n"}
    with pytest.raises(KeyError, match="missing"):
        load_npz(tmp_path / "a.npz", keys=["missing"])
    # No temporary files left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "a.json", "a.npz", "sub"]


def test_atomic_path_keeps_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".pt"
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_json_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "a.json", {"x": float("nan")})
    assert not (tmp_path / "a.json").exists()


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        load_json(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        load_npz(tmp_path / "nope.npz")
    (tmp_path / "bad.json").write_text('{"a": 1')
    with pytest.raises(CorruptFileError, match=r"bad\.json is corrupt or truncated"):
        load_json(tmp_path / "bad.json")
    atomic_save_npz(tmp_path / "x.npz", a=np.random.default_rng(0).normal(size=(100, 10)))
    data = (tmp_path / "x.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"trunc\.npz is corrupt or truncated"):
        load_npz(tmp_path / "trunc.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip at all")
    with pytest.raises(CorruptFileError, match=r"garbage\.npz"):
        load_npz(tmp_path / "garbage.npz")
