"""One camera's image encoder built from the shared ``agent.encoder`` schema: what the imitation
agents' observation encoder and the RL / model-based SB3 features extractor both call, so a new
architecture is added once. Channel-last images in (uint8 or floats in [0, 1]), (..., feature_dim) out.
``nature_cnn`` is channel-first and SB3's own: the extractor builds it itself."""

from __future__ import annotations

from torch import nn

from agents.encoder_config import EncoderConfig


def make_image_encoder(config: EncoderConfig, image_hw: tuple[int, int]) -> nn.Module:
    """``image_hw``: the (cropped) image size the encoder sees (the ViT sizes its position grid by it)."""
    if config.name == "resnet18_gn":
        from foundation.resnet import ResNetImageEncoder

        return ResNetImageEncoder(3, config.feature_dim, config.num_keypoints, config.width, config.stages)
    if config.name == "vit":
        from foundation.vit import ViTImageEncoder

        return ViTImageEncoder(3, config.feature_dim, config.width, config.patch_size, config.depth,
                               config.heads, image_hw)  # fmt: skip
    raise ValueError(f"agent.encoder.name={config.name} has no channel-last encoder here")
