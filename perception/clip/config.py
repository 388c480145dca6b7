"""The CLIP-style model's config (import-light: the CLI reads it without torch)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _held_out_objects() -> list[str]:
    """Tabletop's held-out colour x shape combinations, the language splits' own: never named by a
    training caption, the zero-shot test names them (imported when a config is built: importing
    ``envs`` costs ~0.4 s, which `workbench --help` should not pay)."""
    from envs.tasks.language_splits import HELD_OUT_OBJECTS

    return list(HELD_OUT_OBJECTS)


HELD_OUT_CROPS = ("partial", "none")  # what training sees of a held-out object (clip.data.CaptionSplit)


@dataclass
class ClipConfig:
    """A contrastive image-text model (Radford et al. 2021) over object crops of simulator frames.

    Image tower: ResNet-18-GN (``width``) over ``crop_size`` px square crops around each labelled
    object, global average pooling, a linear map to ``embed_dim``. Text tower: word embeddings
    (``text_dim``) over a vocabulary of the training captions' words, a learned position embedding,
    ``text_layers`` bidirectional transformer blocks (0: a bag of words), mean over the words, a linear
    map. Symmetric InfoNCE with a learned temperature over captions that name an object's colour and
    shape, or one of them; every crop a caption is true of is its positive. ``held_out``: objects never
    captioned by colour and shape together in training (``held_out_crops``: what training sees of them).
    """

    name: str = "clip"
    width: int = 16
    crop_size: int = 32
    embed_dim: int = 64
    text_dim: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_words: int = 12
    init_temperature: float = 0.07
    min_area: int = 12  # px: smaller (mostly occluded) objects give no crop
    held_out: list[str] = field(default_factory=_held_out_objects)
    # What training sees of a held-out object: "partial", its crops with one-attribute captions only
    # ("the blue object", "a cube"); "none", nothing (perception.clip.data.CaptionSplit)
    held_out_crops: str = "partial"

    def __post_init__(self) -> None:
        sizes = (self.width, self.crop_size, self.embed_dim, self.text_dim, self.max_words)
        if min(sizes) < 1 or self.text_layers < 0:
            raise ValueError("clip: width, crop_size, embed_dim, text_dim, max_words >= 1, text_layers >= 0")
        if self.held_out_crops not in HELD_OUT_CROPS:
            raise ValueError(f"clip.held_out_crops={self.held_out_crops!r} is not one of {HELD_OUT_CROPS}")
        if self.crop_size < 16:
            raise ValueError(f"clip.crop_size={self.crop_size} is too small; use >= 16 px")
        if self.text_dim % self.text_heads:
            raise ValueError(f"clip.text_dim={self.text_dim} must divide by text_heads={self.text_heads}")
        if not 0.0 < self.init_temperature < 1.0:
            raise ValueError(f"clip.init_temperature={self.init_temperature} must be in (0, 1)")
