"""The CenterNet-style detector: targets and decoding invert each other, a short
``workbench perception train`` run on a collected dataset writes its model, scores and curves, and a
run stopped and resumed ends with the weights of the uninterrupted one; the DETR-style detector's
matching and box geometry, and its own short run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from perception.detection.centernet import STRIDE, CenterNetConfig, decode, make_targets
from perception.detection.detector import load_detector
from perception.metrics import coco_detection_map
from tests.conftest import workbench
from workbench.errors import UserError

# one worker: the tests share the session's Tabletop dataset (collected once per worker)
pytestmark = pytest.mark.xdist_group("perception")


def test_decoding_the_targets_gives_the_boxes_back() -> None:
    boxes = [np.array([[10.0, 20.0, 16.0, 12.0], [40.0, 8.0, 9.0, 20.0]], np.float32)]
    labels = [np.array([2, 0])]
    t = make_targets(boxes, labels, 3, (64 // STRIDE, 64 // STRIDE), 0.7)
    assert t["heat"].max() == 1.0 and int((t["heat"] == 1).sum()) == 2
    logits = torch.logit(t["heat"].clamp(1e-4, 1 - 1e-4))
    size = torch.zeros(1, 2, 16, 16)
    offset = torch.zeros(1, 2, 16, 16)
    for j in range(2):
        cell = int(t["index"][0, j])
        size[0, :, cell // 16, cell % 16] = t["size"][0, j]
        offset[0, :, cell // 16, cell % 16] = t["offset"][0, j]
    ((found, scores, classes),) = decode({"heat": logits, "size": size, "offset": offset}, k=2)
    order = np.argsort(classes)  # class 0 first
    np.testing.assert_allclose(found[order], boxes[0][[1, 0]], atol=1e-4)
    assert classes[order].tolist() == [0, 2] and np.all(scores > 0.99)


def test_map_is_pycocotools_on_a_known_case(tmp_path: Path) -> None:
    truth = {"images": [{"id": 1, "width": 50, "height": 50}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [5, 5, 10, 10], "area": 100,
                              "iscrowd": 0}],
             "categories": [{"id": 3, "name": "cube"}]}  # fmt: skip
    (tmp_path / "a.json").write_text(json.dumps(truth))
    exact = [{"image_id": 1, "category_id": 3, "bbox": [5, 5, 10, 10], "score": 0.9}]
    assert coco_detection_map(tmp_path / "a.json", exact, [1], [3])["map"] == pytest.approx(1.0)
    shifted = [{"image_id": 1, "category_id": 3, "bbox": [8, 5, 10, 10], "score": 0.9}]  # IoU 70/130
    scores = coco_detection_map(tmp_path / "a.json", shifted, [1], [3])
    assert scores["map50"] == pytest.approx(1.0) and scores["map75"] == pytest.approx(0.0)
    assert coco_detection_map(tmp_path / "a.json", [], [1], [3])["map"] == 0.0


def test_train_scores_and_resumes_exactly(tabletop: Path, tmp_path: Path) -> None:
    common = (
        "perception", "train", f"data={tabletop}", "batch_size=4", "detector.width=8",
        "detector.neck_channels=16", "trainer.eval_every=4", "trainer.log_every=2",
        "trainer.checkpoint_every=4", "trainer.progress=false",
    )  # fmt: skip
    whole = tmp_path / "whole"
    workbench(*common, "steps=8", f"run_dir={whole}")
    results = json.loads((whole / "results.json").read_text())
    assert results["split"] == "test" and 0.0 <= results["map50"] <= 1.0 and results["latency_ms"] > 0
    metrics = [json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines()]
    assert any("eval/map50" in m for m in metrics) and any("train/heat_loss" in m for m in metrics)
    assert (whole / "model_best.pt").is_file() and (whole / "tb").is_dir()

    part = tmp_path / "part"
    workbench(*common, "steps=4", f"run_dir={part}")
    workbench("perception", "train", f"resume={part}", "steps=8", "trainer.progress=false")
    a = load_detector(whole / "model.pt").state_dict()
    b = load_detector(part / "model.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_training_input_is_refused(tabletop: Path, tmp_path: Path) -> None:
    cases = {
        ("data=" + str(tmp_path / "none"),): "not a perception dataset",
        (f"data={tabletop}", "camera=wrist"): "no camera 'wrist'",
        (f"data={tabletop}", "task=pose"): "task=",
        (f"data={tabletop}", "steps=0"): "steps=0",
        (f"resume={tmp_path}",): "no config.yaml",
    }
    for args, words in cases.items():
        proc = workbench("perception", "train", *args, f"run_dir={tmp_path / 'r'}", check=False)
        assert proc.returncode == 2 and words in proc.stderr.strip().splitlines()[-1], (args, proc.stderr)
    damaged = tmp_path / "model.pt"
    damaged.write_bytes(b"not a model")
    with pytest.raises(UserError, match="not a workbench"):
        load_detector(damaged)
    assert CenterNetConfig().width == 32


def test_detr_matching_and_generalized_iou() -> None:
    from perception.detection.detr import DETRConfig, DETRDetector, box_xyxy, generalized_iou

    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0], [4.0, 0.0, 6.0, 2.0]])
    # identical: 1; overlap 1 of union 7 in a 3x3 hull: 1/7 - 2/9; apart: 0 - (12 - 8) / 12
    expected = torch.tensor([[1.0, 1 / 7 - 2 / 9, -4 / 12]])
    assert torch.allclose(generalized_iou(a, b), expected, atol=1e-6)
    detr = DETRDetector(DETRConfig(width=8, dim=16, queries=4), [1, 2], ["a", "b"], (64, 64))
    truth = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.7, 0.6, 0.2, 0.1]])
    boxes = torch.tensor(
        [[0.5, 0.5, 0.3, 0.3], [0.7, 0.6, 0.2, 0.1], [0.9, 0.9, 0.1, 0.1], [0.2, 0.2, 0.1, 0.1]]
    )
    logits = torch.zeros(4, 3)
    rows, cols = detr._match(logits, boxes, torch.tensor([0, 1]), truth)
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == {0: 3, 1: 1}
    assert torch.allclose(box_xyxy(truth[:1]), torch.tensor([[0.15, 0.15, 0.25, 0.25]]))


def test_a_detr_style_detector_trains_and_scores_from_the_cli(tabletop: Path, tmp_path: Path) -> None:
    run = tmp_path / "detr"
    workbench("perception", "train", f"data={tabletop}", "model=detr", "steps=4", "batch_size=2",
              "detr.width=8", "detr.dim=16", "detr.queries=8", "trainer.eval_every=2",
              "trainer.progress=false", f"run_dir={run}")  # fmt: skip
    results = json.loads((run / "results.json").read_text())
    assert 0.0 <= results["map50"] <= 1.0 and results["latency_ms"] > 0
    detector = load_detector(run / "model.pt")
    assert type(detector).__name__ == "DETRDetector"
    (found,) = detector.detect(np.zeros((1, 64, 64, 3), np.uint8))
    assert found["boxes"].shape == (8, 4) and set(found["category_ids"]) <= set(detector.class_ids)
    bad = workbench("perception", "train", f"data={tabletop}", "model=unet", f"run_dir={tmp_path / 'b'}",
                    check=False)  # fmt: skip
    assert bad.returncode == 2 and "model='unet'" in bad.stderr.strip().splitlines()[-1]
