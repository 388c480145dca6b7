"""Small perception datasets (Tabletop; Push, whose cube every frame shows), collected once per test
session by the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import workbench


def _collect(factory: pytest.TempPathFactory, name: str, env: str) -> Path:
    """8 train, 4 validation and 4 test frames of ``env`` at 64 x 64."""
    out = factory.mktemp("perception") / name
    for split, frames in (("train", 8), ("validation", 4), ("test", 4)):
        workbench("perception", "collect", f"env={env}", f"frames={frames}", f"split={split}",
                  "width=64", "height=64", f"out={out}", "progress=false")  # fmt: skip
    return out


@pytest.fixture(scope="session")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _collect(tmp_path_factory, "tabletop", "wb/Tabletop-mujoco-v0")


@pytest.fixture(scope="session")
def push_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _collect(tmp_path_factory, "push", "wb/Push-mujoco-v0")
