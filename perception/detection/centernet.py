"""A one-stage detector in the style of CenterNet (Zhou et al. 2019, "Objects as Points").

Every object is its box centre: a per-class heatmap at stride 4 peaks there, and two small heads
regress the box size and the sub-cell offset of the centre. Decoding is a 3x3 max-pool (the
paper's NMS) and the top-k peaks. The features are ``perception.backbone``'s stride-4 map (the
workbench's ResNet-18-GN with a small FPN-style neck).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception.backbone import STRIDE, Stride4Features
from perception.detection.config import CenterNetConfig

__all__ = ["STRIDE", "CenterNet", "CenterNetConfig", "centernet_loss", "decode", "make_targets"]


class CenterNet(Stride4Features):
    def __init__(self, config: CenterNetConfig, num_classes: int) -> None:
        super().__init__(config.width, config.neck_channels)
        self.config, self.num_classes = config, num_classes
        c = config.neck_channels

        def head(out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, out, 1))

        self.heat, self.size, self.offset = head(num_classes), head(2), head(2)
        # Focal loss starts from a prior of 0.1 per cell and class (the paper's -2.19 bias).
        last = self.heat[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.constant_(last.bias, -math.log((1 - 0.1) / 0.1))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, H, W, 3) uint8 -> heat logits (B, C, H/4, W/4), size and offset (B, 2, H/4, W/4)."""
        y = self.features(images)  # (B, c, H/4, W/4)
        return {"heat": self.heat(y), "size": self.size(y), "offset": self.offset(y)}


# ------------------------------------------------------------------------------------------ targets
def gaussian_radius(height: float, width: float, min_overlap: float) -> float:
    """CornerNet's radius: the largest centre shift (cells) keeping IoU >= ``min_overlap`` (3 cases)."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def make_targets(
    boxes: list[np.ndarray], labels: list[np.ndarray], num_classes: int, out_hw: tuple[int, int],
    min_overlap: float, max_objects: int = 64,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Per image (K, 4) [x, y, w, h] pixel boxes and (K,) classes -> the heads' targets: ``heat``
    (B, C, h, w) Gaussians peaking at 1 on centre cells, and per object slot (B, M) the flat cell
    ``index``, ``mask``, ``size`` (B, M, 2) in cells and ``offset`` (B, M, 2)."""
    b = len(boxes)
    h, w = out_hw
    heat = np.zeros((b, num_classes, h, w), np.float32)
    index = np.zeros((b, max_objects), np.int64)
    mask = np.zeros((b, max_objects), np.float32)
    size = np.zeros((b, max_objects, 2), np.float32)
    offset = np.zeros((b, max_objects, 2), np.float32)
    ys, xs = np.arange(h)[:, None], np.arange(w)[None, :]
    for i, (image_boxes, image_labels) in enumerate(zip(boxes, labels, strict=True)):
        for j, (box, label) in enumerate(
            zip(image_boxes[:max_objects], image_labels[:max_objects], strict=True)
        ):
            bw, bh = box[2] / STRIDE, box[3] / STRIDE
            centre = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2]) / STRIDE
            cell = np.minimum(centre.astype(np.int64), [w - 1, h - 1])
            radius = max(0, int(gaussian_radius(bh, bw, min_overlap)))
            sigma = (2 * radius + 1) / 6
            blob = np.exp(-((xs - cell[0]) ** 2 + (ys - cell[1]) ** 2) / (2 * sigma * sigma))
            blob[np.abs(ys - cell[1]).repeat(w, 1) > radius] = 0
            blob[np.abs(xs - cell[0]).repeat(h, 0) > radius] = 0
            np.maximum(heat[i, label], blob, out=heat[i, label])
            index[i, j] = cell[1] * w + cell[0]
            mask[i, j] = 1.0
            size[i, j] = (bw, bh)
            offset[i, j] = centre - cell
    return {k: torch.from_numpy(v) for k, v in
            {"heat": heat, "index": index, "mask": mask, "size": size, "offset": offset}.items()}  # fmt: skip


# --------------------------------------------------------------------------------------------- loss
def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CornerNet's variant of the focal loss over Gaussian-splatted heatmaps, per positive cell."""
    pred = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - target) ** 4 * (1 - pos)
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp_min(1.0)


def _gather(feature: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, 2, h, w) at flat cells (B, M) -> (B, M, 2)."""
    b, c = feature.shape[:2]
    flat = feature.reshape(b, c, -1).transpose(1, 2)  # (B, h*w, 2)
    return flat.gather(1, index[..., None].expand(-1, -1, c))


def centernet_loss(
    out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], config: CenterNetConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    heat = focal_loss(out["heat"], targets["heat"])
    mask = targets["mask"][..., None]  # (B, M, 1)
    n = mask.sum().clamp_min(1.0) * 2
    size = (torch.abs(_gather(out["size"], targets["index"]) - targets["size"]) * mask).sum() / n
    offset = (torch.abs(_gather(out["offset"], targets["index"]) - targets["offset"]) * mask).sum() / n
    loss = heat + config.size_weight * size + config.offset_weight * offset
    return loss, {"heat_loss": float(heat.detach()), "size_loss": float(size.detach()),
                  "offset_loss": float(offset.detach())}  # fmt: skip


# ------------------------------------------------------------------------------------------- decode
@torch.no_grad()
def decode(out: dict[str, torch.Tensor], k: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per image the top ``k`` peaks: boxes (k, 4) [x, y, w, h] pixels, scores (k,), classes (k,)."""
    heat = torch.sigmoid(out["heat"])
    b, c, h, w = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)  # the paper's 3x3 NMS
    scores, flat = peaks.reshape(b, -1).topk(min(k, c * h * w))
    classes, cells = flat // (h * w), flat % (h * w)
    size, offset = _gather(out["size"], cells), _gather(out["offset"], cells)  # (B, k, 2)
    cx = (cells % w).float() + offset[..., 0]
    cy = (cells // w).float() + offset[..., 1]
    bw, bh = size[..., 0].clamp_min(0), size[..., 1].clamp_min(0)
    boxes = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh], dim=-1) * STRIDE
    return [(boxes[i].numpy(), scores[i].numpy(), classes[i].numpy()) for i in range(b)]
