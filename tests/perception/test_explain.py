"""Saliency and Grad-CAM: they light up what the target reads, and ``workbench perception explain``
writes the pictures for a perception model (an image policy's case runs in tests/agents/test_bc_e2e.py);
``workbench perception show`` draws a model's predictions."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn

from perception.explain import Target, explain, panel
from tests.conftest import workbench

# one worker: the tests share the session's Tabletop dataset (collected once per worker)
pytestmark = pytest.mark.xdist_group("perception")


def test_maps_light_up_only_what_the_target_reads() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)

    def top_left(images: torch.Tensor, steps: np.ndarray) -> torch.Tensor:
        features = torch.relu(conv(images.permute(0, 3, 1, 2)) + 1.0)  # (N, 4, 16, 16)
        return features[:, :, :6, :6].sum((1, 2, 3))

    frames = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    cam, saliency = explain(Target(top_left, conv, None, "top-left"), frames, np.arange(2))
    assert cam.shape == saliency.shape == (2, 16, 16)
    assert saliency[:, 8:, :].max() == 0 and saliency[:, 8:, 8:].max() == 0 and saliency[:, :6, :6].max() == 1
    # Grad-CAM weighs the layer's whole map by gradients from the region: any pattern, scaled to [0, 1]
    assert cam.min() >= 0 and np.allclose(cam.reshape(2, -1).max(1), 1)
    assert panel(frames[0], cam[0], saliency[0]).shape == (16, 48, 3)


def test_explain_writes_pictures_for_a_detector(tabletop: Path, tmp_path: Path) -> None:
    run = tmp_path / "detector"
    workbench("perception", "train", f"data={tabletop}", "steps=2", "batch_size=2", "detector.width=8",
              "detector.neck_channels=16", "trainer.eval_every=2", "trainer.progress=false",
              f"run_dir={run}")  # fmt: skip
    out = tmp_path / "explained"
    workbench("perception", "explain", f"run={run}", f"data={tabletop}", "frames=2", f"out={out}")
    pictures = sorted(out.glob("explain_*.png"))
    assert len(pictures) == 2 and iio.imread(pictures[0]).shape == (64, 192, 3)
    again = workbench("perception", "explain", f"run={run}", f"data={tabletop}", f"out={out}", check=False)
    assert again.returncode == 2 and "not empty" in again.stderr  # an earlier record is never overwritten
    missing = workbench("perception", "explain", f"run={run}", f"out={tmp_path / 'x'}", check=False)
    assert missing.returncode == 2 and "episodes=DIR" in missing.stderr.strip().splitlines()[-1]
    shown = tmp_path / "shown"
    workbench("perception", "show", f"run={run}", f"data={tabletop}", "frames=2", "min_score=0",
              f"out={shown}")  # fmt: skip
    assert [iio.imread(p).shape for p in sorted(shown.glob("show_*.png"))] == [(64, 64, 3)] * 2
