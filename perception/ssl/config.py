"""Self-supervised pretraining configs (import-light: the CLI reads them without torch).

One config per method; each pretrains the image encoder an agent names in ``agent.encoder`` (the
``encoder`` block here uses the same schema and is what the exported encoder file records).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.encoder_config import EncoderConfig

METHODS = ("simclr", "dino", "mae")


def _cpu_resnet() -> EncoderConfig:
    # The image agents' CPU encoder: ResNet-18-GN at width 16 (configs/agent/bc_rgb.yaml).
    return EncoderConfig(name="resnet18_gn", width=16, feature_dim=64)


@dataclass
class ViewConfig:
    """Random views of a frame (SimCLR's and DINO's augmentations, sized for robot frames).

    Crops keep ``min_scale`` .. 1 of the frame's area (SimCLR's 0.08 would make most views miss the
    objects a policy needs); no flips by default (left and right mean different actions); colour
    jitter of brightness, contrast and saturation by up to ``jitter``, grey with ``grayscale``."""

    min_scale: float = 0.5
    jitter: float = 0.4
    grayscale: float = 0.2
    flip: bool = False

    def check(self, prefix: str) -> None:
        if not 0.0 < self.min_scale <= 1.0:
            raise ValueError(f"{prefix}.views.min_scale={self.min_scale} must be in (0, 1]")
        if not 0.0 <= self.jitter < 1.0 or not 0.0 <= self.grayscale <= 1.0:
            raise ValueError(f"{prefix}.views.jitter must be in [0, 1) and grayscale in [0, 1]")


@dataclass
class SimCLRConfig:
    """SimCLR (Chen et al. 2020): two views per frame, the NT-Xent loss on a projector's outputs."""

    name: str = "simclr"
    encoder: EncoderConfig = field(default_factory=_cpu_resnet)
    crop_ratio: float = 0.9  # views are this fraction of the frame side: the agents' crop size
    projector_dims: list[int] = field(default_factory=lambda: [256, 128])
    temperature: float = 0.1
    views: ViewConfig = field(default_factory=ViewConfig)

    def __post_init__(self) -> None:
        _check_common(self)
        self.views.check(self.name)
        if not self.projector_dims or min(self.projector_dims) < 1 or not self.temperature > 0:
            raise ValueError(f"{self.name}.projector_dims must be positive and temperature > 0")


@dataclass
class DINOConfig:
    """DINO (Caron et al. 2021): a student matches an EMA teacher's sharpened, centred output on
    another view of the frame; no negatives, no labels."""

    name: str = "dino"
    encoder: EncoderConfig = field(default_factory=_cpu_resnet)
    crop_ratio: float = 0.9
    head_hidden: int = 256
    bottleneck: int = 64
    out_dim: int = 256  # prototypes
    student_temp: float = 0.1
    teacher_temp: float = 0.04
    center_momentum: float = 0.9
    teacher_momentum: float = 0.996  # EMA of the student's weights, per step
    views: ViewConfig = field(default_factory=ViewConfig)

    def __post_init__(self) -> None:
        _check_common(self)
        self.views.check(self.name)
        for key in ("head_hidden", "bottleneck", "out_dim"):
            if getattr(self, key) < 1:
                raise ValueError(f"dino.{key}={getattr(self, key)} must be >= 1")
        if not (self.student_temp > 0 and self.teacher_temp > 0):
            raise ValueError("dino.student_temp and dino.teacher_temp must be > 0")
        for key in ("center_momentum", "teacher_momentum"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ValueError(f"dino.{key}={getattr(self, key)} must be in [0, 1)")


@dataclass
class MAEConfig:
    """MAE (He et al. 2022): a ViT encodes a random quarter of the patches; a small decoder
    reconstructs the masked patches' pixels (normalised per patch)."""

    name: str = "mae"
    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(name="vit", width=64, feature_dim=64, patch_size=8, depth=4)
    )
    crop_ratio: float = 0.9
    mask_ratio: float = 0.75
    decoder_width: int = 64
    decoder_depth: int = 2
    norm_pix_loss: bool = True
    # MAE needs no colour jitter (the paper: crops only); the masking is the pretext.
    views: ViewConfig = field(default_factory=lambda: ViewConfig(jitter=0.0, grayscale=0.0))

    def __post_init__(self) -> None:
        _check_common(self)
        self.views.check(self.name)
        if self.encoder.name != "vit":
            raise ValueError(f"mae.encoder.name={self.encoder.name!r}: MAE masks ViT patches; use vit")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ValueError(f"mae.mask_ratio={self.mask_ratio} must be in (0, 1)")
        if self.decoder_width < 1 or self.decoder_depth < 1 or self.decoder_width % self.encoder.heads:
            raise ValueError("mae.decoder_width must be >= 1 and divide by encoder.heads; decoder_depth >= 1")


def _nested(config: object) -> None:
    """Rebuild the nested blocks of a config read back from a model file (plain dicts there)."""
    if isinstance(getattr(config, "encoder", None), dict):
        config.encoder = EncoderConfig(**config.encoder)  # type: ignore[attr-defined]
    if isinstance(getattr(config, "views", None), dict):
        config.views = ViewConfig(**config.views)  # type: ignore[attr-defined]


def _check_common(config: object) -> None:
    _nested(config)
    name, crop_ratio = config.name, config.crop_ratio  # type: ignore[attr-defined]
    if not 0.0 < crop_ratio <= 1.0:
        raise ValueError(f"{name}.crop_ratio={crop_ratio} must be in (0, 1]")
