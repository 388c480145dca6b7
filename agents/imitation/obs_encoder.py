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
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.encoder_config import ARCHITECTURE_KEYS, EncoderConfig
from agents.image_encoders import make_image_encoder
from foundation.augment import center_crop, random_crop
from foundation.normalizer import Normalizer


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
        encoder: EncoderConfig,
        normalization: str = "gaussian",
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
        self.encoder_config = encoder
        if self.image_keys and encoder.name == "nature_cnn":
            raise ValueError(
                "agent.encoder.name=nature_cnn: the imitation agents encode images with resnet18_gn or vit "
                "(nature_cnn serves the RL agents)"
            )
        self.crop_shape: dict[str, tuple[int, int]] = {}
        for k in self.image_keys:
            h, w, _ = obs_spec[k]["shape"]
            ratio = encoder.crop_ratio
            self.crop_shape[k] = (max(8, round(h * ratio)), max(8, round(w * ratio)))
        self.cameras = nn.ModuleDict(
            {module_key(k): make_image_encoder(encoder, self.crop_shape[k]) for k in self.image_keys}
        )
        self.feature_dim = sum(self.low_dims.values()) + encoder.feature_dim * len(self.image_keys)
        if encoder.checkpoint is not None:
            for camera in self.cameras.values():
                load_encoder(camera, encoder)
        if encoder.freeze:
            self.cameras.requires_grad_(False)

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


ENCODER_FORMAT = "workbench-encoder"
ENCODER_VERSION = 1


def encoder_param_groups(
    model: nn.Module, encoder: ObsEncoder, lr: float, weight_decay: float
) -> list[dict[str, Any]]:
    """Optimizer groups: image-encoder weights at ``lr * encoder.lr_scale`` (none when frozen), the
    rest at ``lr``; no weight decay on biases and norm parameters (nanoGPT's grouping)."""
    image = {id(p) for p in encoder.cameras.parameters()}
    scale = encoder.encoder_config.lr_scale
    groups = []
    for is_image, group_lr in ((False, lr), (True, lr * scale)):
        params = [p for p in model.parameters() if p.requires_grad and (id(p) in image) == is_image]
        groups += [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay, "lr": group_lr},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0, "lr": group_lr},
        ]
    return [g for g in groups if g["params"]]


def save_encoder(camera_encoder: nn.Module, config: EncoderConfig, path: str | Path) -> None:
    """Write one camera's image encoder as a workbench encoder file (what agent.encoder.checkpoint reads)."""
    from foundation.files import save_torch

    payload = {
        "format": ENCODER_FORMAT,
        "version": ENCODER_VERSION,
        "name": config.name,
        **{key: getattr(config, key) for key in ARCHITECTURE_KEYS[config.name]},
        "state_dict": camera_encoder.state_dict(),
    }
    save_torch(payload, path)


def load_encoder(camera_encoder: nn.Module, config: EncoderConfig) -> None:
    """Load ``config.checkpoint`` into one camera's encoder, refusing a file of another architecture."""
    assert config.checkpoint is not None
    path = Path(config.checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"agent.encoder.checkpoint={path} not found")
    from foundation.files import verify_checksum

    verify_checksum(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, ...: several exception types
        raise ValueError(f"agent.encoder.checkpoint={path} is corrupt ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != ENCODER_FORMAT:
        raise ValueError(f"agent.encoder.checkpoint={path} is not a workbench encoder file")
    if payload.get("version") != ENCODER_VERSION:
        raise ValueError(
            f"{path} is an encoder file of format version {payload.get('version')}; this workbench reads "
            f"version {ENCODER_VERSION}"
        )
    architecture = ARCHITECTURE_KEYS.get(str(payload.get("name")), ())
    keys = ("name", *architecture)
    # An architecture key added later (e.g. ``stages``) is absent from older files: they were written
    # with its default. The name has no default: a file without one is refused.
    stored = {k: payload.get(k, getattr(EncoderConfig, k)) for k in architecture}
    stored["name"] = payload.get("name")
    mismatch = [k for k in keys if stored[k] != getattr(config, k)]
    if mismatch:
        found = ", ".join(f"{k}={stored[k]}" for k in mismatch)
        raise ValueError(f"{path} holds an encoder with {found}; set agent.encoder.* to match it")
    camera_encoder.load_state_dict(payload["state_dict"])
