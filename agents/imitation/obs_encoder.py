"""Observation history -> per-frame feature vectors, for every policy that reads observations.

Low-dimensional keys (``state``, ``proprio``) are normalised with statistics that travel in the
``state_dict``; each ``rgb/<camera>`` key gets its own ResNet-18-GroupNorm + spatial-softmax encoder
(robomimic; Chi et al. 2023, sec. 4.2: one encoder per view, no weight sharing), with a random crop
in training and the centre crop in evaluation (shift augmentation, the one that matters most for
image-based imitation). The features of one frame are concatenated: ``(B, To, ...) -> (B, To, F)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from foundation.augment import center_crop, random_crop
from foundation.normalizer import Normalizer
from foundation.resnet import ResNetImageEncoder


def module_key(obs_key: str) -> str:
    # nn.ModuleDict keys may not contain "." and "/" reads badly in state_dict names.
    return obs_key.replace("/", "__").replace(".", "_")


def is_rgb(key: str, spec: Mapping[str, Any]) -> bool:
    shape = spec.get("shape", [])
    return key.startswith("rgb/") and len(shape) == 3 and shape[-1] == 3


class ObsEncoder(nn.Module):
    """``obs/<key>`` tensors of shape (B, To, *shape) -> features (B, To, ``feature_dim``)."""

    def __init__(
        self,
        obs_spec: Mapping[str, Any],
        obs_keys: Sequence[str],
        normalization: str = "gaussian",
        image_feature_dim: int = 64,
        num_keypoints: int = 32,
        resnet_width: int = 64,
        crop_ratio: float = 0.9,
    ) -> None:
        super().__init__()
        missing = [k for k in obs_keys if k not in obs_spec]
        if missing:
            raise ValueError(
                f"agent.obs_keys {missing} are not in the observations {sorted(obs_spec)}; "
                "pick keys the env/dataset provides (set env.obs_mode to include them)"
            )
        self.normalization = normalization
        self.image_keys = [k for k in obs_keys if is_rgb(k, obs_spec[k])]
        self.low_dim_keys = [k for k in obs_keys if k not in self.image_keys]
        unsupported = [k for k in self.low_dim_keys if len(obs_spec[k].get("shape", [])) > 1]
        if unsupported:
            raise ValueError(
                f"agent.obs_keys {unsupported} are neither low-dimensional vectors nor rgb/<camera> "
                "images; the BC encoders read state/proprio vectors and RGB images"
            )
        self.low_dims = {k: math.prod(obs_spec[k]["shape"]) for k in self.low_dim_keys}
        # Identity until `set_stats`; a loaded checkpoint overwrites the buffers.
        self.norms = nn.ModuleDict(
            {module_key(k): Normalizer.identity((d,), normalization) for k, d in self.low_dims.items()}  # type: ignore[arg-type]
        )
        self.cameras = nn.ModuleDict(
            {
                module_key(k): ResNetImageEncoder(3, image_feature_dim, num_keypoints, resnet_width)
                for k in self.image_keys
            }
        )
        self.crop_shape: dict[str, tuple[int, int]] = {}
        for k in self.image_keys:
            h, w, _ = obs_spec[k]["shape"]
            self.crop_shape[k] = (max(8, round(h * crop_ratio)), max(8, round(w * crop_ratio)))
        self.feature_dim = sum(self.low_dims.values()) + image_feature_dim * len(self.image_keys)

    def set_stats(self, stats: Mapping[str, Any]) -> None:
        """``stats`` as :attr:`SequenceDataset.stats` gives them, keyed ``obs/<key>``."""
        for key in self.low_dim_keys:
            if f"obs/{key}" not in stats:
                raise ValueError(f"dataset statistics have no entry for observation {key!r}")
            self.norms[module_key(key)] = Normalizer.from_stats(stats[f"obs/{key}"], self.normalization)  # type: ignore[arg-type]

    def forward(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        feats = []
        for key in self.low_dim_keys:
            x = obs[f"obs/{key}"].float().flatten(2)  # (B, To, D)
            feats.append(self.norms[module_key(key)].normalize(x))  # type: ignore[operator]
        for key in self.image_keys:
            images = obs[f"obs/{key}"]  # (B, To, H, W, 3) uint8
            h, w = self.crop_shape[key]
            if (h, w) != tuple(images.shape[-3:-1]):
                # One window per sample for its whole history, so motion between frames is kept.
                if self.training:
                    images = random_crop(images, h, w, same_across=1)
                else:
                    images = center_crop(images, h, w)
            feats.append(self.cameras[module_key(key)](images))  # (B, To, F_img)
        return torch.cat(feats, dim=-1)  # (B, To, F)
