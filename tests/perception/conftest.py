"""Small perception datasets (Tabletop; Push, whose cube every frame shows), collected once per test
session by the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import workbench


@pytest.fixture(scope="session")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perception") / "tabletop"
    for split, frames in (("train", 8), ("validation", 4), ("test", 4)):
        workbench("perception", "collect", "env=wb/Tabletop-mujoco-v0", f"frames={frames}", f"split={split}",
                  "width=64", "height=64", f"out={out}", "progress=false")  # fmt: skip
    return out


@pytest.fixture(scope="session")
def push_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perception") / "push"
    for split, frames in (("train", 8), ("validation", 4), ("test", 4)):
        workbench("perception", "collect", "env=wb/Push-mujoco-v0", f"frames={frames}", f"split={split}",
                  "width=64", "height=64", f"out={out}", "progress=false")  # fmt: skip
    return out
