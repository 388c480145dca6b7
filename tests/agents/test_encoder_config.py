"""agent.encoder: one schema for image encoders: weights from a local file, frozen or a lower
learning rate, and first-wave configs with flat encoder keys migrated."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.encoder_config import EncoderConfig, migrate_flat_encoder_keys
from agents.imitation.bc import BCAgent
from agents.imitation.bc_config import BCConfig
from agents.imitation.obs_encoder import save_encoder
from agents.policy_io import config_from_dict
from foundation.files import save_torch

OBS_SPEC = {
    "rgb/front": {"shape": [32, 32, 3], "dtype": "uint8"},
    "proprio": {"shape": [4], "dtype": "float32"},
}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}
TINY = EncoderConfig(width=8, feature_dim=8, num_keypoints=4)


def _agent(encoder: EncoderConfig) -> BCAgent:
    config = BCConfig(obs_keys=["rgb/front", "proprio"], hidden_dims=[16], encoder=encoder)
    return BCAgent(config, OBS_SPEC, ACTION_SPEC)


def test_encoder_checkpoint_loads_and_freezes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = _agent(TINY)
    path = tmp_path / "encoder.pt"
    save_encoder(source.encoder.cameras["rgb__front"], TINY, path)
    torch.manual_seed(1)
    frozen = _agent(EncoderConfig(width=8, feature_dim=8, num_keypoints=4, checkpoint=str(path), freeze=True))
    for a, b in zip(source.encoder.cameras.parameters(), frozen.encoder.cameras.parameters(), strict=True):
        assert torch.equal(a, b) and not b.requires_grad
    optimizer = frozen.configure_optimizer()
    optimised = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in frozen.encoder.cameras.parameters()}


def test_lr_scale_sets_the_image_encoders_learning_rate() -> None:
    agent = _agent(EncoderConfig(width=8, feature_dim=8, num_keypoints=4, lr_scale=0.1))
    image = {id(p) for p in agent.encoder.cameras.parameters()}
    for group in agent.configure_optimizer().param_groups:
        is_image = {id(p) in image for p in group["params"]}
        assert len(is_image) == 1
        assert group["lr"] == pytest.approx(agent.config.lr * (0.1 if is_image.pop() else 1.0))


def test_mismatched_or_missing_encoder_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "encoder.pt"
    save_encoder(_agent(TINY).encoder.cameras["rgb__front"], TINY, path)
    with pytest.raises(ValueError, match=r"width=8; set agent\.encoder"):
        _agent(EncoderConfig(width=16, feature_dim=8, num_keypoints=4, checkpoint=str(path)))
    with pytest.raises(ValueError, match=r"stages=4; set agent\.encoder"):
        _agent(EncoderConfig(width=8, feature_dim=8, num_keypoints=4, stages=2, checkpoint=str(path)))
    # A file written before `stages` existed holds a four-stage trunk: it loads as one.
    payload = torch.load(path, weights_only=True)
    del payload["stages"]
    save_torch(payload, path)
    _agent(EncoderConfig(width=8, feature_dim=8, num_keypoints=4, checkpoint=str(path)))
    with pytest.raises(FileNotFoundError, match="not found"):
        _agent(EncoderConfig(width=8, feature_dim=8, num_keypoints=4, checkpoint=str(tmp_path / "x.pt")))
    with pytest.raises(ValueError, match="freeze=true keeps random weights"):
        EncoderConfig(freeze=True)


def test_a_vit_encodes_images_and_round_trips_through_an_encoder_file(tmp_path: Path) -> None:
    vit = EncoderConfig(name="vit", width=16, feature_dim=8, patch_size=8, depth=1, heads=2)
    torch.manual_seed(0)
    source = _agent(vit)
    batch = {"obs/rgb/front": torch.randint(0, 255, (3, 1, 32, 32, 3), dtype=torch.uint8),
             "obs/proprio": torch.randn(3, 1, 4)}  # fmt: skip
    source.eval()
    assert source(batch).shape == (3, 1, 2)
    path = tmp_path / "vit.pt"
    save_encoder(source.encoder.cameras["rgb__front"], vit, path)
    torch.manual_seed(1)
    loaded = _agent(EncoderConfig(name="vit", width=16, feature_dim=8, patch_size=8, depth=1, heads=2,
                                  checkpoint=str(path)))  # fmt: skip
    for a, b in zip(source.encoder.cameras.parameters(), loaded.encoder.cameras.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"depth=1; set agent\.encoder"):
        _agent(EncoderConfig(name="vit", width=16, feature_dim=8, patch_size=8, depth=2, heads=2,
                             checkpoint=str(path)))  # fmt: skip
    with pytest.raises(ValueError, match=r"must divide by agent\.encoder\.heads"):
        EncoderConfig(name="vit", width=10, heads=4)


def test_first_wave_flat_keys_are_migrated() -> None:
    flat = {"name": "bc", "obs_keys": ["rgb/front"], "resnet_width": 16, "image_feature_dim": 32}
    flat["crop_ratio"] = 0.8
    assert migrate_flat_encoder_keys(flat)["encoder"] == {"width": 16, "feature_dim": 32, "crop_ratio": 0.8}
    config = config_from_dict(BCConfig, flat)
    assert config.encoder == EncoderConfig(width=16, feature_dim=32, crop_ratio=0.8)
