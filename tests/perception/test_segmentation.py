"""The U-Net segmenter: IoU from a confusion matrix on a known case, and a short
``workbench perception train task=segmentation`` run that scores mIoU on the test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from perception.segmentation.segmenter import Segmenter, load_segmenter
from perception.segmentation.unet import UNet, UNetConfig, confusion, iou_per_class, segmentation_loss
from tests.conftest import workbench

# one worker: the tests share the session's Tabletop dataset (collected once per worker)
pytestmark = pytest.mark.xdist_group("perception")


def test_iou_from_the_confusion_matrix() -> None:
    truth = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 2]])
    iou = iou_per_class(confusion(pred, truth, 4))
    assert iou[0] == pytest.approx(3 / 4) and iou[1] == pytest.approx(3 / 5) and iou[2] == 0.0
    assert torch.isnan(iou[3])  # absent from truth and prediction: left out of the mean


@pytest.mark.parametrize("stem_stride", [1, 2])
def test_a_unet_fits_one_image(stem_stride: int) -> None:
    torch.manual_seed(0)
    image = torch.zeros(1, 32, 32, 3, dtype=torch.uint8)
    image[0, 8:16, 8:20] = 200
    target = torch.zeros(1, 32, 32, dtype=torch.int64)
    target[0, 8:16, 8:20] = 1
    net = UNet(UNetConfig(width=8, depth=3, stem_stride=stem_stride), 2)
    assert net(image).shape == (1, 2, 32, 32)  # logits at the input's size whatever the stem
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(120):
        loss, _ = segmentation_loss(net(image), target, 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    iou = iou_per_class(confusion(net(image).argmax(1), target, 2))
    assert float(iou.min()) > 0.9


def test_the_loss_equals_its_one_hot_definition() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 9, 9, requires_grad=True)
    target = torch.randint(0, 4, (2, 9, 9))  # class 4 absent: left out of the Dice mean
    probs, onehot = torch.softmax(logits, 1), F.one_hot(target, 5).permute(0, 3, 1, 2).float()
    inter, total = (probs * onehot).sum((0, 2, 3)), (probs + onehot).sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    dice = (2 * inter[present] + 1) / (total[present] + 1)
    expected = F.cross_entropy(logits, target) + 0.5 * (1 - dice.mean())
    loss, _ = segmentation_loss(logits, target, 0.5)
    assert torch.allclose(loss, expected)
    (grad,) = torch.autograd.grad(loss, logits)
    (grad_expected,) = torch.autograd.grad(expected, logits)
    assert torch.allclose(grad, grad_expected, atol=1e-7)


def test_segmentation_trains_from_the_cli(tabletop: Path, tmp_path: Path) -> None:
    run = tmp_path / "seg"
    workbench("perception", "train", f"data={tabletop}", "task=segmentation", "segmenter.width=8",
              "segmenter.depth=3", "steps=4", "batch_size=2", "trainer.eval_every=2", "trainer.log_every=2",
              "trainer.progress=false", f"run_dir={run}")  # fmt: skip
    results = json.loads((run / "results.json").read_text())
    assert 0.0 <= results["miou"] <= 1.0 and "miou_objects" in results and results["latency_ms"] > 0
    segmenter = load_segmenter(run / "model.pt")
    images = np.zeros((1, 64, 64, 3), np.uint8)
    assert segmenter.segment(images).shape == (1, 64, 64)
    assert segmenter.class_names[0] == "background" and "red_cube" in segmenter.class_names
    with pytest.raises(ValueError, match="divisible by 8"):
        Segmenter(UNetConfig(depth=4), [0, 1], ["background", "cube"], (60, 60))
    bad = workbench("perception", "train", f"data={tabletop}", "task=segmentation", "segmenter.depth=7",
                    f"run_dir={tmp_path / 'bad'}", check=False)  # fmt: skip
    assert bad.returncode == 2 and "depth=7" in bad.stderr and not (tmp_path / "bad").exists()
