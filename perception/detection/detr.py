"""A set-prediction detector in the style of DETR (Carion et al. 2020).

A ResNet-18-GN backbone (its stride-16 stage by default: DETR's stride 32 leaves a 20-pixel object
less than one cell), a 2-D sine positional encoding, a transformer encoder over the cells and a
decoder of ``queries`` learned object queries; each query predicts a class (or "no object") and a
normalised box (cx, cy, w, h) relative to its own learned anchor point (Anchor DETR / DAB-DETR's fix
for DETR's slow start). Training matches queries to ground-truth objects one to one with the
Hungarian algorithm (scipy's ``linear_sum_assignment``) on DETR's cost (class probability, L1 and
generalised IoU of the boxes), then applies the same three losses to the matches (and cross-entropy
with a down-weighted "no object" class to the rest), at every decoder layer (DETR's auxiliary
losses). No anchors and no NMS: the set loss teaches the queries not to duplicate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foundation.resnet import ResNet18GN
from perception.base import ImageModel
from perception.detection.config import DETRConfig


def sine_encode(xy: torch.Tensor, dim: int) -> torch.Tensor:
    """(..., 2) positions (x, y) in [0, 1] -> (..., dim) DETR's 2-D sine encoding (dim/2 channels for y,
    dim/2 for x): the same code for an image cell and for a query's anchor point."""
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, device=xy.device) / quarter))
    parts = []
    for coord in (xy[..., 1:2], xy[..., 0:1]):
        angle = coord * 2 * math.pi * freq
        parts += [angle.sin(), angle.cos()]
    return torch.cat(parts, dim=-1)


def sine_positions(h: int, w: int, dim: int, device: torch.device) -> torch.Tensor:
    """(h*w, dim) the encoding of every cell centre of an h x w map."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    xy = torch.stack([(xs.reshape(-1).float() + 0.5) / w, (ys.reshape(-1).float() + 0.5) / h], dim=-1)
    return sine_encode(xy, dim)


def box_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, 4) x (M, 4) xyxy boxes -> (N, M) generalised IoU (Rezatofighi et al. 2019)."""
    area_a = (a[:, 2] - a[:, 0]).clamp_min(0) * (a[:, 3] - a[:, 1]).clamp_min(0)
    area_b = (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)
    low, high = torch.max(a[:, None, :2], b[None, :, :2]), torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp_min(0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / union.clamp_min(1e-9)
    hull = (torch.max(a[:, None, 2:], b[None, :, 2:]) - torch.min(a[:, None, :2], b[None, :, :2])).prod(-1)
    return iou - (hull - union) / hull.clamp_min(1e-9)


class DETRNet(nn.Module):
    def __init__(self, config: DETRConfig, num_classes: int) -> None:
        super().__init__()
        self.config, self.num_classes = config, num_classes
        self.backbone = ResNet18GN(3, config.width)
        self.stages = 3 if config.stride == 16 else 4
        channels = config.width * (4 if config.stride == 16 else 8)
        self.project = nn.Conv2d(channels, config.dim, 1)
        d, heads = config.dim, config.heads
        encoder_layer = nn.TransformerEncoderLayer(d, heads, 4 * d, 0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(encoder_layer, config.encoder_layers, enable_nested_tensor=False)
        self.decoder = nn.ModuleList(
            nn.TransformerDecoderLayer(d, heads, 4 * d, 0.0, batch_first=True, norm_first=True)
            for _ in range(config.decoder_layers)
        )
        self.decoder_norm = nn.LayerNorm(d)
        # Anchor points (Anchor DETR, DAB-DETR): each query owns a learned reference point, starts from its
        # position's encoding and predicts its box relative to it -- queries no longer all start equal,
        # which is what makes plain DETR's first thousands of steps collapse to one mean box.
        self.anchors = nn.Parameter(torch.rand(config.queries, 2))
        self.content = nn.Embedding(config.queries, config.dim)
        self.classify = nn.Linear(config.dim, num_classes + 1)  # the last class: no object
        self.box = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, H, W, 3) uint8 -> class logits (L, B, Q, C+1) and boxes (L, B, Q, 4) in [0, 1] (cx, cy, w, h),
        for each of the L decoder layers (the last is the prediction)."""
        x = self.backbone.stem(images.permute(0, 3, 1, 2).float() / 127.5 - 1.0)
        for stage in list(self.backbone.stages)[: self.stages]:
            x = stage(x)
        memory = self.project(x)  # (B, D, h, w)
        b, d, h, w = memory.shape
        pos = sine_positions(h, w, d, memory.device)[None]  # (1, h*w, D)
        src = self.encoder(memory.flatten(2).transpose(1, 2) + pos)
        anchors = self.anchors.clamp(1e-3, 1 - 1e-3)  # (Q, 2)
        out = (sine_encode(anchors, d) + self.content.weight)[None].expand(b, -1, -1)
        states = []
        for layer in self.decoder:  # every layer's output, for the auxiliary losses
            out = layer(out, src + pos)
            states.append(self.decoder_norm(out))
        hidden = torch.stack(states)  # (L, B, Q, D)
        # boxes relative to the anchors: logit(anchor box) + a predicted offset; 10% of the image to start
        reference = torch.cat([anchors, torch.full_like(anchors, 0.1)], dim=-1)  # (Q, 4)
        boxes = torch.sigmoid(torch.logit(reference) + self.box(hidden))
        return self.classify(hidden), boxes


class DETRDetector(ImageModel):
    task = "detection"

    def __init__(
        self, config: DETRConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int]
    ) -> None:
        super().__init__(config, class_ids, class_names, image_hw)
        self.net = DETRNet(config, len(class_ids))

    def _normalised(self, boxes: np.ndarray, device: torch.device) -> torch.Tensor:
        """(K, 4) [x, y, w, h] px -> (K, 4) (cx, cy, w, h) in [0, 1]."""
        h, w = self.image_hw
        out = torch.as_tensor(boxes, dtype=torch.float32, device=device).reshape(-1, 4)
        scale = torch.tensor([w, h, w, h], dtype=torch.float32, device=device)
        return torch.cat([out[:, :2] + out[:, 2:] / 2, out[:, 2:]], dim=1) / scale

    @torch.no_grad()
    def _match(
        self, logits: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor, truth: torch.Tensor
    ) -> Any:
        from scipy.optimize import linear_sum_assignment

        c = self.config
        cost = (-c.class_weight * logits.softmax(-1)[:, labels] + c.l1_weight * torch.cdist(boxes, truth, p=1)
                - c.giou_weight * generalized_iou(box_xyxy(boxes), box_xyxy(truth)))  # fmt: skip
        return linear_sum_assignment(cost.cpu().numpy())

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch``: images (B, H, W, 3) uint8 tensor, boxes / labels lists of (K, 4) / (K,) arrays."""
        all_logits, all_boxes = self.net(batch["images"])
        device, c = all_logits.device, self.config
        weight = torch.ones(len(self.class_ids) + 1, device=device)
        weight[-1] = c.no_object_weight
        totals = {"class_loss": 0.0, "l1_loss": 0.0, "giou_loss": 0.0}
        loss = all_logits.sum() * 0.0
        layers = len(all_logits)
        for logits, boxes in zip(all_logits, all_boxes, strict=True):  # (B, Q, C+1), (B, Q, 4) per layer
            targets = torch.full(logits.shape[:2], len(self.class_ids), dtype=torch.long, device=device)
            matched, truths = [], []
            for i, (image_boxes, image_labels) in enumerate(
                zip(batch["boxes"], batch["labels"], strict=True)
            ):
                if not len(image_labels):
                    continue
                truth = self._normalised(image_boxes, device)
                label = torch.as_tensor(image_labels, device=device)
                rows, cols = self._match(logits[i], boxes[i], label, truth)
                targets[i, rows] = label[cols]
                matched.append(boxes[i, rows])
                truths.append(truth[cols])
            class_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), weight=weight)
            n = max(sum(len(m) for m in matched), 1)
            if matched:
                pred, true = torch.cat(matched), torch.cat(truths)
                l1 = (pred - true).abs().sum() / n
                giou = (1 - generalized_iou(box_xyxy(pred), box_xyxy(true)).diag()).sum() / n
            else:
                l1 = giou = class_loss * 0.0
            loss = loss + (c.class_weight * class_loss + c.l1_weight * l1 + c.giou_weight * giou) / layers
            for key, value in (("class_loss", class_loss), ("l1_loss", l1), ("giou_loss", giou)):
                totals[key] += float(value.detach()) / layers
        return loss, {"loss": float(loss.detach()), **totals}

    @torch.no_grad()
    def detect(self, images: np.ndarray) -> list[dict[str, np.ndarray]]:
        """(B, H, W, 3) uint8 -> per image ``boxes`` (k, 4) [x, y, w, h] px, ``scores`` (k,) and
        ``category_ids`` (k,), best first: every query's best object class and its probability."""
        self.check_images(images)
        device = next(self.parameters()).device
        logits, boxes = self.net(torch.as_tensor(images, device=device))
        probs = logits[-1].softmax(-1)[..., :-1].cpu()  # (B, Q, C)
        scores, classes = probs.max(-1)
        h, w = self.image_hw
        xyxy = box_xyxy(boxes[-1].cpu()) * torch.tensor([w, h, w, h])
        out = []
        ids = np.asarray(self.class_ids)
        for i in range(len(images)):
            order = scores[i].argsort(descending=True)[: self.config.max_detections]
            b = xyxy[i, order]
            out.append({"boxes": torch.cat([b[:, :2], b[:, 2:] - b[:, :2]], 1).numpy(),
                        "scores": scores[i, order].numpy(),
                        "category_ids": ids[classes[i, order].numpy()]})  # fmt: skip
        return out
