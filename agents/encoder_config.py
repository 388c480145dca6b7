"""One schema for an agent's observation encoder, ``agent.encoder``, shared by every family.

Imitation agents use it today; the RL (SB3 features extractors), model-based and VLA agents and the
pretrained / self-supervised encoders of the perception issues plug in through the same keys::

    agent.encoder.name=resnet18_gn      the image architecture (ENCODERS)
    agent.encoder.checkpoint=PATH       start from a workbench encoder file (save_encoder) on disk
    agent.encoder.freeze=true           keep those weights fixed (a frozen feature extractor)
    agent.encoder.lr_scale=0.1          or fine-tune them at a tenth of the agent's learning rate

No torch import here: the CLI reads configs for --help and validation.
"""

from __future__ import annotations

from dataclasses import dataclass

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

# Image encoder architectures: name -> what it is. ResNet-18 with GroupNorm and a spatial softmax
# (robomimic; Diffusion Policy sec. 4.2); a small ViT (foundation.vit).
ENCODERS = {
    "resnet18_gn": "ResNet-18 (GroupNorm) + spatial-softmax keypoints + linear",
    "vit": "a small Vision Transformer: patch_size patches, depth blocks of width, the class token + linear",
    "nature_cnn": "the DQN paper's 3-layer CNN (SB3's NatureCNN); the RL agents' default",
}
# The keys that fix an architecture's weights (an encoder file must match them).
ARCHITECTURE_KEYS = {
    "resnet18_gn": ("width", "feature_dim", "num_keypoints", "stages"),
    "vit": ("width", "feature_dim", "patch_size", "depth", "heads"),
    "nature_cnn": ("feature_dim",),
}


@dataclass
class EncoderConfig:
    """How image observations (``rgb/<camera>``) become features; low-dimensional keys are normalised."""

    name: str = "resnet18_gn"
    width: int = 64  # resnet18_gn: first-stage channels (64 = standard; 16-32 on a CPU); vit: token width
    feature_dim: int = 64  # features per camera and frame
    num_keypoints: int = 32  # resnet18_gn: spatial-softmax keypoints
    stages: int = 4  # resnet18_gn: ResNet stages kept; 2-3 give the spatial softmax a 2-4x finer map
    patch_size: int = 8  # vit: pixels per patch side
    depth: int = 4  # vit: transformer blocks
    heads: int = 4  # vit: attention heads (width must divide by it)
    crop_ratio: float = 0.9  # random crop to this fraction of H and W in training, centre crop in eval
    checkpoint: str | None = None  # a workbench encoder file to start from (local weights only)
    freeze: bool = False  # keep the image encoder's weights fixed
    lr_scale: float = 1.0  # the image encoder trains at agent.lr * lr_scale

    def __post_init__(self) -> None:
        if self.name not in ENCODERS:
            raise ConfigError(f"agent.encoder.name={self.name!r} is not one of {list(ENCODERS)}")
        for key in ("width", "feature_dim", "num_keypoints", "patch_size", "depth", "heads"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.encoder.{key}={getattr(self, key)} must be >= 1")
        if not 1 <= self.stages <= 4:
            raise ConfigError(f"agent.encoder.stages={self.stages} must be in 1..4 (ResNet-18 has 4)")
        if self.name == "vit" and self.width % self.heads:
            raise ConfigError(
                f"agent.encoder.width={self.width} must divide by agent.encoder.heads={self.heads} (vit)"
            )
        if not 0.0 < self.crop_ratio <= 1.0:
            raise ConfigError(
                f"agent.encoder.crop_ratio={self.crop_ratio} must be in (0, 1]; 1 disables cropping"
            )
        if self.lr_scale < 0:
            raise ConfigError(f"agent.encoder.lr_scale={self.lr_scale} must be >= 0")
        if self.freeze and self.checkpoint is None:
            raise ConfigError(
                "agent.encoder.freeze=true keeps random weights fixed; give agent.encoder.checkpoint=PATH"
            )


# First-wave configs kept these keys flat on the agent config; policy files and run configs of that
# layout are migrated on load (agents.policy_io, workbench.config.compose).
LEGACY_KEYS = {
    "resnet_width": "width",
    "image_feature_dim": "feature_dim",
    "num_keypoints": "num_keypoints",
    "crop_ratio": "crop_ratio",
    "crop_fraction": "crop_ratio",
}


def migrate_flat_encoder_keys(config: dict[str, object]) -> dict[str, object]:
    """An agent config dict with the legacy flat encoder keys moved under ``encoder``."""
    out = {k: v for k, v in config.items() if k not in LEGACY_KEYS}
    moved = {LEGACY_KEYS[k]: v for k, v in config.items() if k in LEGACY_KEYS}
    if moved:
        encoder = dict(out.get("encoder") or {})  # type: ignore[call-overload]
        out["encoder"] = {**moved, **encoder}
    return out
