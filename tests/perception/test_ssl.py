"""Self-supervised pretraining: each method's loss falls on a tiny dataset, the views are seeded, the
linear probe recovers a position that features encode, and `workbench pretrain` runs end to end
(probe scores beside a random encoder's, an encoder file an agent loads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.encoder_config import EncoderConfig
from agents.imitation.obs_encoder import ObsEncoder, module_key
from perception.ssl.config import DINOConfig, MAEConfig, SimCLRConfig, ViewConfig
from perception.ssl.models import DINO, MAE, SimCLR, nt_xent
from perception.ssl.probe import linear_probe
from perception.ssl.views import random_views
from tests.conftest import workbench

pytestmark = pytest.mark.xdist_group("perception")
# 32 px frames: the ViT (a ResNet-18 reduces them to one cell; the CLI test below runs it at 64 px).
SMALL_VIT = EncoderConfig(name="vit", width=32, feature_dim=16, patch_size=8, depth=1, heads=2)


def _squares(n: int = 16, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Frames of three coloured squares on a random grey, (n, size, size, 3) uint8, and the first
    square's centre (n, 2): frames that differ, as a scene's layouts do."""
    rng = np.random.default_rng(seed)
    images = np.repeat(rng.integers(40, 160, (n, 1, 1, 1)), 3, axis=3).astype(np.uint8)
    images = np.broadcast_to(images, (n, size, size, 3)).copy()
    centres = rng.integers(6, size - 6, (n, 3, 2))
    for image, squares in zip(images, centres, strict=True):
        for y, x in squares:
            image[y - 4 : y + 4, x - 4 : x + 4] = rng.integers(0, 256, 3)
    return torch.from_numpy(images), centres[:, 0].astype(np.float64)


@pytest.mark.parametrize(
    "model",
    [
        lambda: SimCLR(SimCLRConfig(encoder=SMALL_VIT, projector_dims=[32, 16]), (32, 32)),
        lambda: DINO(DINOConfig(encoder=SMALL_VIT, head_hidden=32, bottleneck=16, out_dim=32), (32, 32)),
        lambda: MAE(MAEConfig(encoder=SMALL_VIT, decoder_width=32, decoder_depth=1), (32, 32)),
    ],
    ids=["simclr", "dino", "mae"],
)
def test_each_method_lowers_its_loss_on_a_tiny_dataset(model: object) -> None:
    torch.manual_seed(0)
    net = model()  # type: ignore[operator]
    images, _ = _squares()
    optim = torch.optim.Adam(net.parameters(), lr=2e-3)
    losses = []
    for step in range(40):
        loss, info = net.compute_loss({"images": images, "seeds": torch.tensor([step % 4, step])})
        optim.zero_grad()
        loss.backward()
        optim.step()
        net.after_optimizer_step()
        # DINO: the student's KL to the teacher (centring moves the teacher's entropy, the loss's rest)
        losses.append(info.get("distill_kl", float(loss.detach())))
    assert np.mean(losses[-8:]) < 0.9 * np.mean(losses[:8]), losses


def test_mae_reconstruction_pictures_keep_visible_patches_and_grey_the_hidden() -> None:
    """`perception show` on an MAE: view, masked view, reconstruction; the visible patches are the
    view's own, the masked view greys exactly the hidden ones (75%), and the picture is seeded."""
    from perception.draw import show

    torch.manual_seed(0)
    net = MAE(MAEConfig(encoder=SMALL_VIT, decoder_width=32, decoder_depth=1, crop_ratio=1.0), (32, 32))
    images, _ = _squares(n=2)
    view, masked, merged = net.reconstruct(images.numpy(), seed=3)
    assert view.shape == masked.shape == merged.shape == (2, 32, 32, 3) and view.dtype == np.uint8
    hidden = (masked == 128).all(-1)  # grey pixels: the hidden patches (8 x 8 each)
    assert abs(hidden.mean() - 0.75) < 0.01
    assert (merged[~hidden] == view[~hidden]).all()
    assert (net.reconstruct(images.numpy(), seed=3)[2] == merged).all()
    (picture, _) = show(net, images.numpy())
    assert picture.ndim == 3 and picture.shape[1] > 3 * picture.shape[0] // 2  # three panels in a row


def test_views_are_seeded_and_in_range() -> None:
    images, _ = _squares(4)
    config = ViewConfig()
    a = random_views(images, 28, config, torch.Generator().manual_seed(3))
    b = random_views(images, 28, config, torch.Generator().manual_seed(3))
    c = random_views(images, 28, config, torch.Generator().manual_seed(4))
    assert a.shape == (4, 28, 28, 3) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_nt_xent_prefers_matching_views() -> None:
    z = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    matched, top1 = nt_xent(torch.cat([z, z]), 0.1)
    shuffled, _ = nt_xent(torch.cat([z, z[torch.randperm(8)]]), 0.1)
    assert top1 == 1.0 and float(matched) < float(shuffled)


def test_the_probe_recovers_a_linearly_encoded_position_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    positions = rng.uniform(-0.2, 0.2, (300, 3))
    mixing = rng.normal(size=(3, 20))
    informative = positions @ mixing + 0.001 * rng.normal(size=(300, 20))
    noise = rng.normal(size=(300, 20))
    split = [slice(0, 200), slice(200, 250), slice(250, 300)]
    good = linear_probe(*((informative[s], positions[s]) for s in split))
    bad = linear_probe(*((noise[s], positions[s]) for s in split))
    assert good["probe_error_cm"] < 0.5 and bad["probe_error_cm"] > 5 * good["probe_error_cm"]


def test_pretrain_cli_scores_the_probe_and_writes_an_encoder_agents_load(
    push_frames: Path, tmp_path: Path
) -> None:
    run = tmp_path / "simclr"
    workbench(
        "pretrain", "method=simclr", f"data={push_frames}", "steps=4", "batch_size=4",
        "simclr.encoder.width=8", "simclr.projector_dims=[32,16]", "trainer.eval_every=2",
        "trainer.checkpoint_every=2", f"run_dir={run}", "trainer.progress=false",
    )  # fmt: skip
    results = json.loads((run / "results.json").read_text())
    for key in ("probe_error_cm", "random_probe_error_cm", "probe_validation_error_cm"):
        assert np.isfinite(results[key]), results
    assert results["split"] == "test" and (run / "encoder.pt").is_file()
    # The encoder file loads into an image agent's observation encoder (same agent.encoder.* keys).
    config = EncoderConfig(name="resnet18_gn", width=8, feature_dim=64, checkpoint=str(run / "encoder.pt"))
    spec = {"rgb/agentview": {"shape": [64, 64, 3], "dtype": "uint8"}}
    encoder = ObsEncoder(spec, ["rgb/agentview"], config, "gaussian")
    saved = torch.load(run / "encoder.pt", weights_only=True)["state_dict"]
    loaded = encoder.cameras[module_key("rgb/agentview")].state_dict()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)
    # What the encoder attends to: its spatial-softmax keypoints drawn on test frames.
    shown = tmp_path / "shown"
    workbench("perception", "show", f"run={run}", f"data={push_frames}", "frames=2", f"out={shown}")
    assert len(list(shown.glob("show_*.png"))) == 2
