"""Object crops of a perception split, each with the name of the object it shows: what the CLIP-style
model trains on (with captions made from the names) and is scored on (zero-shot object picking).

Captions are true by construction: the simulator's labels say which object each box is, and the
object's name is its colour and shape (``red_cube`` -> "the red cube")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from perception.clip.config import HELD_OUT_CROPS
from perception.data import PerceptionSplit

# Sentence forms of an object's caption; training draws one per crop and step.
CAPTION_TEMPLATES: tuple[str, ...] = ("the {}", "a {}", "{}", "a photo of the {}", "the {} on the table")
# What a training caption names: both attributes, the colour alone ("the red object") or the shape
# alone ("the cube"), with these probabilities. Captions of one attribute ground each word on its own,
# so a colour x shape never captioned is the sum of two grounded words (Nikolaus et al. 2019 and
# the attribute-object literature: compositional captions need their parts seen apart).
PARTS: tuple[tuple[str, float], ...] = (("both", 0.5), ("colour", 0.25), ("shape", 0.25))


def object_words(name: str) -> str:
    """``red_cube`` -> "red cube"."""
    return name.replace("_", " ")


def part_caption(name: str, part: str) -> str:
    """The words naming ``part`` of object ``name`` ("red_cube": both "red cube", colour "red object",
    shape "cube")."""
    colour, shape = name.split("_", 1)
    return {"both": f"{colour} {shape}", "colour": f"{colour} object", "shape": shape}[part]


def caption_matches(name: str, caption_name: str, part: str) -> bool:
    """Whether a caption naming ``part`` of object ``caption_name`` is true of object ``name``."""
    (colour, shape), (c, s) = name.split("_", 1), caption_name.split("_", 1)
    return {"both": name == caption_name, "colour": colour == c, "shape": shape == s}[part]


def square_crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) uint8: a square around ``box`` [x, y, w, h] (px) with a 25% margin, clipped to the
    image (edge pixels repeat past it), resized with antialiasing."""
    h, w = image.shape[:2]
    x, y, bw, bh = (float(v) for v in box)
    side = max(bw, bh) * 1.25 + 2.0
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0 = int(np.floor(cx - side / 2)), int(np.floor(cy - side / 2))
    s = max(int(np.ceil(side)), 2)
    rows = np.clip(np.arange(y0, y0 + s), 0, h - 1)
    cols = np.clip(np.arange(x0, x0 + s), 0, w - 1)
    patch = torch.from_numpy(image[rows][:, cols].copy()).permute(2, 0, 1)[None].float()  # (1, 3, s, s)
    out = F.interpolate(patch, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()



@dataclass
class CaptionSplit:
    """Crops with their objects' names. ``held_out`` objects are never captioned by colour and shape
    together in training; ``held_out_crops`` says what training sees of them: ``partial``, their crops
    with one-attribute captions only ("the blue object", "a cube": as held-out objects appear in
    Tabletop scenes as distractors, described but never named); ``none``, nothing (the image tower
    never sees them either)."""

    crops: np.ndarray  # (M, S, S, 3) uint8, one per visible object of every frame
    names: list[str]  # (M,) the object each crop shows
    frame: np.ndarray  # (M,) int64: the frame it was cut from (crops of one frame form a scene)
    object_names: list[str]  # every movable object of the dataset (its thing categories)
    held_out: tuple[str, ...] = ()
    held_out_crops: str = "partial"

    def __post_init__(self) -> None:
        if self.held_out_crops not in HELD_OUT_CROPS:
            raise ValueError(f"clip.held_out_crops={self.held_out_crops!r} is not one of {HELD_OUT_CROPS}")
        keep = self.held_out_crops == "partial"
        rows = [r for r, n in enumerate(self.names) if keep or n not in self.held_out]
        self.train_rows = np.array(rows, np.int64)  # the rows a training batch draws from

    def __len__(self) -> int:
        return len(self.train_rows)

    def batch(self, rows: np.ndarray, flips: np.ndarray, generator: torch.Generator) -> dict[str, Any]:
        """Training batch: crops (B, S, S, 3) uint8 (``flips`` mirrored), their objects' names, one
        caption each (the part it names and its template drawn from ``generator``) and ``matches``
        (B, B) bool: caption j is true of crop i."""
        picked = self.train_rows[rows]
        crops = self.crops[picked].copy()
        crops[flips] = crops[flips][:, :, ::-1]
        forms = torch.randint(len(CAPTION_TEMPLATES), (len(rows),), generator=generator).tolist()
        draws = torch.multinomial(torch.tensor([p for _, p in PARTS]), len(rows), True, generator=generator)
        lone = torch.randint(1, len(PARTS), (len(rows),), generator=generator).tolist()
        names = [self.names[i] for i in picked]
        parts = [  # a held-out object is only ever captioned by one attribute
            PARTS[k][0] if n in self.held_out else PARTS[int(d)][0]
            for k, n, d in zip(lone, names, draws, strict=True)
        ]
        said = zip(forms, names, parts, strict=True)
        captions = [CAPTION_TEMPLATES[f].format(part_caption(n, p)) for f, n, p in said]
        matches = torch.tensor(
            [[caption_matches(a, b, p) for b, p in zip(names, parts, strict=True)] for a in names]
        )
        return {"crops": torch.from_numpy(crops), "names": names, "captions": captions, "matches": matches}


def caption_split(
    split: PerceptionSplit, crop_size: int, held_out: list[str], min_area: int,
    held_out_crops: str = "partial",
) -> CaptionSplit:
    """Every labelled object of at least ``min_area`` px in ``split`` as a crop."""
    crops, names, frames = [], [], []
    for i, (boxes, labels) in enumerate(zip(split.boxes, split.labels, strict=True)):
        for box, label in zip(boxes, labels, strict=True):
            if box[2] * box[3] < min_area:
                continue
            crops.append(square_crop(split.images[i], box, crop_size))
            names.append(split.class_names[int(label)])
            frames.append(i)
    unknown = sorted(set(held_out) - set(split.class_names))
    if unknown:
        raise ValueError(f"clip.held_out names {unknown}, not objects of this dataset ({split.class_names})")
    stacked = np.stack(crops) if crops else np.zeros((0, crop_size, crop_size, 3), np.uint8)
    frame = np.array(frames, dtype=np.int64)
    return CaptionSplit(stacked, names, frame, list(split.class_names), tuple(held_out), held_out_crops)
