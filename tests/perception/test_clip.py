"""The CLIP-style model: words and vocabulary, held-out objects kept out of training, the contrastive
loss learns to tell coloured shapes apart, a composition never captioned is named from its seen parts,
and `workbench perception train task=clip` runs end to end (test scores, a model file that loads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from envs.tasks import language_splits
from perception.clip.config import ClipConfig
from perception.clip.data import CaptionSplit, square_crop
from perception.clip.model import ClipModel, clip_scores
from perception.clip.text import UNK, Vocabulary, build_vocabulary, words
from perception.model_io import load_model
from tests.conftest import workbench, workbench_fails

pytestmark = pytest.mark.xdist_group("perception")
COLOURS = {"red": (220, 40, 30), "green": (40, 180, 50), "blue": (40, 80, 230)}
SHAPES = ("cube", "cylinder")


def test_words_and_vocabulary() -> None:
    assert words("Put the red_cube, on it!") == ["put", "the", "red", "cube", "on", "it"]
    vocab = Vocabulary(build_vocabulary(["the red cube", "a blue block"]))
    ids = vocab.encode(["the purple cube"], max_words=5)
    assert ids.shape == (1, 5) and ids[0, 1].item() == vocab.tokens.index(UNK) and ids[0, 3] == 0
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(["a", "b"])


def test_held_out_objects_agree_with_the_language_splits() -> None:
    assert ClipConfig().held_out == list(language_splits.HELD_OUT_OBJECTS)


def test_square_crop_centres_the_box() -> None:
    image = np.zeros((40, 40, 3), np.uint8)
    image[10:16, 20:26] = 255  # a 6 px white square
    crop = square_crop(image, np.array([20, 10, 6, 6]), 16)
    assert crop.shape == (16, 16, 3) and crop[8, 8].min() > 200 and crop[0, 0].max() == 0


def _shapes_split(
    n: int, rng: np.random.Generator, held_out: list[str], held_out_crops: str = "partial"
) -> CaptionSplit:
    """Synthetic 16 px crops: a coloured square (cube) or disc (cylinder) on grey, 3 per scene."""
    names, crops = [], []
    yy, xx = np.mgrid[:16, :16]
    for _ in range(n):
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        img = np.full((16, 16, 3), 128, np.uint8)
        square, disc = (abs(yy - 8) < 5) & (abs(xx - 8) < 5), (yy - 8) ** 2 + (xx - 8) ** 2 < 25
        mask = square if shape == "cube" else disc
        img[mask] = COLOURS[colour]
        crops.append(img)
        names.append(f"{colour}_{shape}")
    object_names = [f"{c}_{s}" for c in COLOURS for s in SHAPES]
    frames = np.arange(n) // 3
    return CaptionSplit(np.stack(crops), names, frames, object_names, tuple(held_out), held_out_crops)


def test_contrastive_training_names_a_held_out_composition_from_its_parts() -> None:
    torch.manual_seed(0)
    held_out = ["blue_cube"]
    config = ClipConfig(width=8, crop_size=16, embed_dim=16, text_dim=16, text_layers=1, held_out=held_out)
    rng = np.random.default_rng(0)
    train, test = _shapes_split(240, rng, held_out), _shapes_split(120, rng, held_out)
    model = ClipModel(config, list(range(6)), train.object_names, (16, 16))
    assert "blue" in model.vocabulary.tokens and "cube" in model.vocabulary.tokens
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(80):
        rows = torch.randint(len(train), (48,), generator=generator).numpy()
        batch = train.batch(rows, np.zeros(48, bool), generator)
        assert not any("blue cube" in caption for caption in batch["captions"])  # never named whole
        loss, _ = model.compute_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]
    scores = clip_scores(model, test)
    assert scores["classify_top1_seen"] > 0.9
    assert scores["classify_top1_held_out"] > 0.9  # "blue" + "cube", each grounded apart (1 in 6 by chance)
    assert scores["pick_top1_held_out"] > 0.6


def test_perception_train_clip_end_to_end(tabletop: Path, tmp_path: Path) -> None:
    run = tmp_path / "clip"
    workbench("perception", "train", f"data={tabletop}", "task=clip", "steps=4", "batch_size=8",
              "clip.width=8", "clip.crop_size=16", "trainer.eval_every=2", f"run_dir={run}")  # fmt: skip
    results = json.loads((run / "results.json").read_text())
    assert results["split"] == "test" and 0.0 <= results["pick_top1_seen"] <= 1.0
    model = load_model(run / "model.pt", task="clip")
    assert model.vocabulary.tokens[:2] == ["<pad>", "<unk>"]
    bad = tmp_path / "bad"
    line = workbench_fails(
        "perception", "train", f"data={tabletop}", "task=clip", "clip.held_out=[pink_cube]", f"run_dir={bad}"
    )
    assert "pink_cube" in line and not bad.exists()
