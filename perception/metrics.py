"""Perception metrics computed by the field's own code: COCO mAP with pycocotools' ``COCOeval``."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any


def coco_detection_map(
    annotations: Path, detections: list[dict[str, Any]], image_ids: list[int], category_ids: list[int]
) -> dict[str, float]:
    """``map`` (AP@[.5:.95]), ``map50`` and ``map75`` of ``detections`` (COCO results: image_id,
    category_id, bbox [x, y, w, h], score) against the ground truth in ``annotations`` (a COCO json),
    over ``image_ids`` and ``category_ids`` only. No detection at all scores 0."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return {"map": 0.0, "map50": 0.0, "map75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress and summary
        truth = COCO(str(annotations))
        found = truth.loadRes(detections)
        evaluation = COCOeval(truth, found, iouType="bbox")
        evaluation.params.imgIds = list(image_ids)
        evaluation.params.catIds = list(category_ids)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {
        "map": float(max(stats[0], 0.0)),
        "map50": float(max(stats[1], 0.0)),
        "map75": float(max(stats[2], 0.0)),
    }
