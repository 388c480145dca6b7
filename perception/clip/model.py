"""The CLIP-style image-text model: object crops and captions in one embedding space.

    img = normalise(W_i pool(ResNet(crop)))        (B, E)
    txt = normalise(W_t mean(Transformer(words)))  (B, E)
    logits = exp(s) img txt^T                      (B, B), s learned (init log 1/0.07)
    loss = (CE(logits, T) + CE(logits^T, T^T)) / 2, T = same object (row-normalised)

Crops of the same object in a batch share a caption meaning, so each is a positive of the others'
captions (a plain CLIP would push them apart as false negatives). Zero-shot use: ``pick`` scores a
caption against the crops of one scene and returns the best crop; ``classify`` names each crop by the
closest of a list of captions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foundation.resnet import ResNet18GN
from perception.base import ImageModel
from perception.clip.config import ClipConfig
from perception.clip.data import CAPTION_TEMPLATES, PARTS, object_words, part_caption
from perception.clip.text import LearnedTextEncoder, Vocabulary, build_vocabulary


def training_vocabulary(object_names: Sequence[str], held_out: Sequence[str]) -> list[str]:
    """The words of every training caption (every template and part over the objects not held out)."""
    seen = [n for n in object_names if n not in held_out]
    return build_vocabulary(
        t.format(part_caption(n, part)) for t in CAPTION_TEMPLATES for n in seen for part, _ in PARTS
    )


class ClipModel(ImageModel):
    task = "clip"

    def __init__(
        self, config: ClipConfig, class_ids: list[int], class_names: list[str], image_hw: tuple[int, int],
        vocabulary: list[str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(config, class_ids, class_names, (config.crop_size, config.crop_size))
        self.vocabulary = Vocabulary(vocabulary or training_vocabulary(class_names, config.held_out))
        self.trunk = ResNet18GN(3, config.width)
        self.image_proj = nn.Linear(self.trunk.out_channels, config.embed_dim)
        self.text = LearnedTextEncoder(
            len(self.vocabulary), config.text_dim, config.text_layers, config.text_heads, config.max_words,
            config.embed_dim,
        )  # fmt: skip
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))

    def init_args(self) -> dict[str, Any]:
        return {**super().init_args(), "vocabulary": self.vocabulary.tokens}

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    def embed_crops(self, crops: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(N, S, S, 3) uint8 crops -> (N, E) unit vectors."""
        x = torch.as_tensor(crops, device=self.device)
        if tuple(x.shape[1:3]) != self.image_hw:
            raise ValueError(f"the clip model takes {self.image_hw} crops, got {tuple(x.shape[1:3])}")
        x = x.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, 3, S, S) in [-1, 1]
        pooled = self.trunk(x).mean(dim=(2, 3))  # (N, C)
        return F.normalize(self.image_proj(pooled), dim=-1)

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """N captions -> (N, E) unit vectors."""
        ids = self.vocabulary.encode(texts, self.config.max_words).to(self.device)
        return F.normalize(self.text(ids), dim=-1)

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        img, txt = self.embed_crops(batch["crops"]), self.embed_texts(batch["captions"])
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()  # CLIP caps the scale at 100
        logits = scale * img @ txt.T  # (B, B)
        same = batch["matches"].float().to(logits.device)  # (B, B): caption j is true of crop i
        # image -> text: a crop's positives are every caption true of it; text -> image: a caption's
        # positives are every crop it is true of (each row of targets sums to 1)
        loss = 0.5 * (
            F.cross_entropy(logits, same / same.sum(1, keepdim=True))
            + F.cross_entropy(logits.T, same.T / same.T.sum(1, keepdim=True))
        )
        hit = same[torch.arange(len(same)), logits.argmax(1)] > 0
        metrics = {"loss": float(loss.detach()), "batch_top1": float(hit.float().mean())}
        metrics["scale"] = float(scale.detach())
        return loss, metrics

    @torch.no_grad()
    def pick(self, crops: np.ndarray, caption: str) -> int:
        """Index of the crop (of one scene's (N, S, S, 3)) that ``caption`` names best."""
        return int((self.embed_crops(crops) @ self.embed_texts([caption])[0]).argmax())

    @torch.no_grad()
    def classify(self, crops: np.ndarray, captions: Sequence[str]) -> np.ndarray:
        """(N,) index of the closest of ``captions`` for each crop."""
        return (self.embed_crops(crops) @ self.embed_texts(captions).T).argmax(1).cpu().numpy()


def clip_scores(model: ClipModel, data: Any) -> dict[str, float]:
    """Zero-shot scores on a ``CaptionSplit``, seen and held-out objects apart:

    - ``pick_top1_*``: for each object of each scene with two or more crops, "the <colour> <shape>"
      picks one of the scene's crops; right when it is that object's crop;
    - ``classify_top1_*``: each crop named by the closest of every object's caption.
    """
    model.eval()
    held = set(model.config.held_out)
    groups = ("seen", "held_out")
    out: dict[str, list[float]] = {f"{k}_{g}": [] for k in ("pick_top1", "classify_top1") for g in groups}
    captions = [f"the {object_words(n)}" for n in data.object_names]
    with torch.no_grad():  # every crop and caption embedded once; pick and classify read the same table
        sims = (model.embed_crops(data.crops) @ model.embed_texts(captions).T).cpu().numpy()  # (M, C)
    caption_of = {n: i for i, n in enumerate(data.object_names)}
    group = ["held_out" if name in held else "seen" for name in data.names]
    for name, g, row in zip(data.names, group, sims, strict=True):
        out[f"classify_top1_{g}"].append(float(data.object_names[int(row.argmax())] == name))
    for frame in np.unique(data.frame):
        rows = np.flatnonzero(data.frame == frame)
        if len(rows) < 2:
            continue
        for r in rows:  # the object's caption picks one of the scene's crops
            chosen = rows[int(sims[rows, caption_of[data.names[r]]].argmax())]
            out[f"pick_top1_{group[r]}"].append(float(chosen == r))
    scores = {k: float(np.mean(v)) if v else float("nan") for k, v in out.items()}
    scores.update({f"n_{k}": float(len(v)) for k, v in out.items() if k.startswith("pick")})
    return scores
