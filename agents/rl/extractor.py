"""The workbench's image encoders as an SB3 features extractor (``agent.encoder``).

For Dict observations with images (``rgb/<camera>``, channel-first uint8 as SB3 wants them) each camera
gets its own encoder, chosen by the shared encoder schema (``agents.encoder_config``):

- ``resnet18_gn``: the ResNet-18-GroupNorm + spatial-softmax encoder the imitation agents use
  (``foundation.resnet``), optionally started from a workbench encoder file
  (``agent.encoder.checkpoint``, e.g. a self-supervised one) and frozen (``agent.encoder.freeze``);
- ``vit``: the small Vision Transformer (``foundation.vit``), same options;
- ``nature_cnn``: SB3's NatureCNN (Mnih et al. 2015), what SB3 uses by default.

Training sees random crops (``agent.encoder.crop_ratio``: shifts of a few pixels, the augmentation
that matters most for pixel RL, DrQ); acting sees the centre crop. Low-dimensional keys are flattened
and concatenated, as SB3's CombinedExtractor does.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from torch import nn

from agents.encoder_config import EncoderConfig
from agents.image_encoders import make_image_encoder
from foundation.augment import center_crop, random_crop


class WorkbenchExtractor(BaseFeaturesExtractor):
    def __init__(self, observation_space: gym.spaces.Dict, encoder: dict[str, Any]) -> None:
        config = EncoderConfig(**encoder)
        images = [k for k, s in observation_space.spaces.items() if len(s.shape or ()) == 3]
        flat = [k for k in observation_space.spaces if k not in images]
        crops = {}
        for key in images:
            _, h, w = observation_space[key].shape  # type: ignore[misc]
            crops[key] = (max(8, round(h * config.crop_ratio)), max(8, round(w * config.crop_ratio)))
        cameras: dict[str, nn.Module] = {}
        for key in images:
            if config.name == "nature_cnn":
                h, w = crops[key]
                channels = int(observation_space[key].shape[0])  # type: ignore[index]
                crop_space = gym.spaces.Box(0, 255, (channels, h, w), np.uint8)
                cameras[key] = NatureCNN(crop_space, features_dim=config.feature_dim)
            else:
                cameras[key] = make_image_encoder(config, crops[key])
                if config.checkpoint is not None:
                    from agents.imitation.obs_encoder import load_encoder

                    load_encoder(cameras[key], config)
        flat_dim = sum(int(torch.tensor(observation_space[k].shape).prod()) for k in flat)
        super().__init__(observation_space, features_dim=flat_dim + config.feature_dim * len(images))
        self.config = config
        self.images, self.flat, self.crops = images, flat, crops
        self.cameras = nn.ModuleDict({_module_key(k): m for k, m in cameras.items()})
        if config.freeze:
            self.cameras.requires_grad_(False)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        feats = [observations[k].flatten(1).float() for k in self.flat]
        for key in self.images:
            x = observations[key]  # (B, C, H, W), SB3 scaled it to [0, 1]
            h, w = self.crops[key]
            if (h, w) != tuple(x.shape[-2:]):
                # (B, C, H, W, 1): the crop functions' channel-last layout with C as a shared dim
                chw = x.unsqueeze(-1)
                chw = random_crop(chw, h, w) if self.training else center_crop(chw, h, w)
                x = chw.squeeze(-1)  # (B, C, h, w)
            encoder = self.cameras[_module_key(key)]
            if self.config.name == "nature_cnn":
                feats.append(encoder(x))
            else:
                feats.append(encoder(x.permute(0, 2, 3, 1)))  # channel-last in [0, 1]
        return torch.cat(feats, dim=1)


def _module_key(key: str) -> str:
    return key.replace("/", "__").replace(".", "_")
