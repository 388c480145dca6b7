from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from foundation.files import checksum_path
from workbench.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, set_rng_state
from workbench.errors import UserError
from workbench.logger import JsonlSink
from workbench.train.offline import warmup_cosine


def test_checkpoints_are_rotated_and_latest_points_to_newest(tmp_path: Path) -> None:
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, {"model": {"w": torch.full((2,), float(step))}}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*.pt"))
    assert names == ["step_00000030.pt", "step_00000040.pt"]
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and load_checkpoint(latest)["step"] == 40
    assert not list((tmp_path / "checkpoints").glob("*.tmp*")), "temporary files left behind"


def test_rng_states_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    path = save_checkpoint(tmp_path, 1, {})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(5), np.random.rand(5), random.random()
    rng = load_checkpoint(path)["rng"]
    assert ("cuda" in rng) == torch.cuda.is_available()
    set_rng_state(rng)
    assert torch.equal(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


def test_cuda_rng_state_is_saved_and_restored_per_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for two GPUs' generators, so the payload round trip is checked on any machine.
    gpu_states = [torch.arange(16, dtype=torch.uint8), torch.arange(16, 32, dtype=torch.uint8)]
    restored: list[tuple[torch.Tensor, int]] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # resumed on one GPU of the two
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [t.clone() for t in gpu_states])
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: restored.append((state, device)))
    rng = load_checkpoint(save_checkpoint(tmp_path, 1, {}))["rng"]  # weights_only=True loads it
    assert all(torch.equal(a, b) for a, b in zip(rng["cuda"], gpu_states, strict=True))
    set_rng_state(rng)
    assert len(restored) == 1 and torch.equal(restored[0][0], gpu_states[0]) and restored[0][1] == 0

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored.clear()
    set_rng_state(rng)  # a GPU checkpoint resumed on a CPU machine: the CPU generators only
    assert not restored
    assert "cuda" not in load_checkpoint(save_checkpoint(tmp_path, 2, {}))["rng"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_rng_states_round_trip_on_a_gpu(tmp_path: Path) -> None:
    torch.cuda.manual_seed_all(1)
    path = save_checkpoint(tmp_path, 1, {})
    assert "cuda" in load_checkpoint(path)["rng"]
    expected = torch.rand(3, device="cuda")
    torch.rand(5, device="cuda")
    set_rng_state(load_checkpoint(path)["rng"])
    assert torch.equal(torch.rand(3, device="cuda"), expected)


def test_corrupt_and_missing_checkpoints(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(bad)
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    assert latest_checkpoint(tmp_path) is None


def test_jsonl_resume_drops_lines_after_checkpoint(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "m.jsonl")
    for step in (100, 200, 300):
        sink.write(step, {"train/loss": 1.0})
    sink.close()
    with (tmp_path / "m.jsonl").open("a") as f:
        f.write('{"step": 4')  # a line cut short by SIGKILL
    sink = JsonlSink(tmp_path / "m.jsonl", resume_step=200)
    sink.close()
    assert (tmp_path / "m.jsonl").read_text().count("\n") == 2


def test_warmup_cosine_schedule() -> None:
    f = warmup_cosine(10, 110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(110) == pytest.approx(0.1)
    assert all(f(s) >= f(s + 1) for s in range(10, 110))


def test_checkpoint_of_another_format_version_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, 5, {"model": {}})
    payload = torch.load(path, weights_only=True)
    assert payload["version"] == 2
    torch.save({**payload, "version": 7}, path)
    with pytest.raises(UserError, match="sha256 does not match"):  # rewritten after its checksum
        load_checkpoint(path)
    checksum_path(path).unlink()  # as a file of another workbench version without our sidecar
    with pytest.raises(UserError, match="format version 7; this workbench reads version 2"):
        load_checkpoint(path)
