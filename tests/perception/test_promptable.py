"""The SAM-style promptable segmenter: the clicks it trains and is scored with, and a short
``workbench perception train task=promptable`` run that scores mask IoU on the test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from perception.promptable.model import centre_click, load_promptable, sample_prompts
from tests.conftest import workbench

# one worker: the tests share the session's Tabletop dataset (collected once per worker)
pytestmark = pytest.mark.xdist_group("perception")


def test_the_scoring_click_is_deepest_inside_the_mask() -> None:
    mask = np.zeros((20, 30), bool)
    mask[2:9, 3:20] = True  # a 7 x 17 bar: its middle row, away from both ends
    x, y = centre_click(mask)
    assert mask[y, x] and y == 5 and 8 <= x <= 14


def test_training_clicks_fall_inside_the_prompted_objects() -> None:
    seg = np.zeros((2, 16, 16), np.int64)
    seg[0, 2:6, 2:6], seg[0, 8:14, 8:14], seg[1, 0:3, 0:3] = 5, 6, 7
    seg[1, 10, 10] = 5  # one pixel: below min_area, never prompted
    owner, clicks, ids = sample_prompts(seg, [5, 6, 7], per_image=4, min_area=4, seeds=np.array([1, 2]))
    assert sorted(zip(owner.tolist(), ids.tolist(), strict=True)) == [(0, 5), (0, 6), (1, 7)]
    for image, (x, y), cid in zip(owner, clicks.astype(int), ids, strict=True):
        assert seg[image, y, x] == cid
    again = sample_prompts(seg, [5, 6, 7], per_image=4, min_area=4, seeds=np.array([1, 2]))
    assert np.array_equal(clicks, again[1])  # the batch's seeds fix the clicks (exact resume)


def test_promptable_segmentation_trains_and_scores_from_the_cli(tabletop: Path, tmp_path: Path) -> None:
    run = tmp_path / "prompt"
    workbench("perception", "train", f"data={tabletop}", "task=promptable", "steps=4", "batch_size=2",
              "promptseg.width=8", "promptseg.dim=16", "trainer.eval_every=2", "trainer.progress=false",
              f"run_dir={run}")  # fmt: skip
    results = json.loads((run / "results.json").read_text())
    assert results["split"] == "test" and 0.0 <= results["mask_iou"] <= 1.0 and results["objects"] > 0
    model = load_promptable(run / "model.pt")
    image = np.zeros((1, 64, 64, 3), np.uint8)
    (masks,) = model.segment(image, [np.array([[10.0, 20.0], [40.0, 40.0]])])
    assert masks.shape == (2, 64, 64) and masks.dtype == bool
    assert isinstance(model.net.mask_token, torch.nn.Parameter)
    shown = tmp_path / "shown"
    workbench("perception", "show", f"run={run}", f"data={tabletop}", "frames=1", f"out={shown}")
    assert len(list(shown.glob("show_*.png"))) == 1
    bad = workbench("perception", "train", f"data={tabletop}", "task=promptable", "promptseg.dim=20",
                    f"run_dir={tmp_path / 'bad'}", check=False)  # fmt: skip
    assert bad.returncode == 2 and "promptseg.dim=20" in bad.stderr.strip().splitlines()[-1]
