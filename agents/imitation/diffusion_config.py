"""Diffusion Policy configuration (no torch import: the CLI reads it for --help and validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.encoder_config import EncoderConfig

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

DENOISERS = ("unet", "transformer")
SAMPLERS = ("ddim", "ddpm")
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
BETA_SCHEDULES = ("squaredcos_cap_v2", "linear", "scaled_linear")
# Training labels: "auto" = the clean expert_actions wherever recorded (DART noise, DAgger), else
# the executed actions; the names are workbench.dataset.ACTION_KEYS (agents/ must not import workbench/).
LABELS = ("auto", "actions", "expert_actions")


@dataclass
class DiffusionConfig:
    """Diffusion Policy (Chi et al. 2023): denoise a chunk of ``action_horizon`` actions, conditioned
    on ``obs_horizon`` frames of every key in ``obs_keys``; execute ``execute_horizon`` of them, then
    plan again (receding horizon). As in the paper's code, the chunk starts at the first observation
    frame (step t-To+1) and the executed actions at its entry To-1 (the current step t).

    Low-dimensional keys (e.g. ``state``, ``proprio``) are min-max normalised to [-1, 1]; image keys
    (``rgb/<camera>``) get their own ResNet-18-GroupNorm + spatial-softmax encoder each, trained
    from scratch with random-crop augmentation. Actions are normalised to [-1, 1] as well.
    """

    name: str = "diffusion"
    obs_keys: list[str] = field(default_factory=lambda: ["state"])
    obs_horizon: int = 2
    action_horizon: int = 16  # the prediction horizon Tp of the paper, from step t-To+1
    execute_horizon: int = 8  # Ta of the paper: actions executed before replanning, from step t
    # auto: clean expert labels where the demos recorded them (DART noise), else the executed actions
    label: str = "auto"

    # Denoiser network.
    denoiser: str = "unet"
    # U-Net widths per level. Upstream uses (256, 512, 1024); (64, 128) meets the 25 ms CPU budget
    # for a 10-step DDIM chunk and trains ~2x faster than (64, 128, 256) (see docs in diffusion.py).
    down_dims: list[int] = field(default_factory=lambda: [64, 128])
    kernel_size: int = 5
    n_groups: int = 8
    step_embed_dim: int = 64
    d_model: int = 128  # transformer denoiser
    n_layers: int = 4
    n_heads: int = 4
    dropout: float = 0.1  # transformer denoiser only

    # Image encoders (image keys only).
    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # image keys: one encoder per camera

    # Diffusion.
    num_train_timesteps: int = 100
    # Reverse steps when acting; None: 10 for sampler=ddim (Chi et al. 2023, sec. 4.4), every one of the
    # num_train_timesteps for sampler=ddpm (DDPM's ancestral sampler is only exact over all of them).
    num_inference_steps: int | None = None
    sampler: str = "ddim"
    beta_schedule: str = "squaredcos_cap_v2"
    # What the denoiser predicts. "sample" (the clean chunk a_0) learns much faster than the paper's
    # "epsilon" at a CPU budget: state PushT reached 56% success after 2000 steps vs 26% for epsilon
    # (configs/experiment/pusht_diffusion.yaml); "epsilon" remains the choice for long GPU runs on
    # multimodal data.
    prediction_type: str = "sample"
    clip_sample: bool = True

    # EMA of the weights, used for acting (evaluation) and saved with the policy.
    use_ema: bool = True
    ema_power: float = 0.75
    ema_max_decay: float = 0.9999

    # Training recipe for this agent (the offline trainer reads these).
    steps: int = 20_000
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.obs_keys:
            raise ConfigError("agent.obs_keys is empty; list at least one observation key, e.g. [state]")
        for key in ("obs_horizon", "action_horizon", "execute_horizon", "steps", "batch_size",
                    "num_train_timesteps", "kernel_size", "n_groups",
                    "d_model", "n_layers", "n_heads"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.obs_horizon - 1 + self.execute_horizon > self.action_horizon:
            # The chunk starts at the first observation frame: its first obs_horizon - 1 entries are
            # past actions, so the executed ones need obs_horizon - 1 + execute_horizon entries.
            raise ConfigError(
                f"agent.execute_horizon={self.execute_horizon} needs agent.action_horizon >= "
                f"agent.obs_horizon - 1 + execute_horizon = {self.obs_horizon - 1 + self.execute_horizon} "
                f"(got {self.action_horizon}); lower execute_horizon or raise action_horizon"
            )
        if self.denoiser not in DENOISERS:
            raise ConfigError(f"agent.denoiser={self.denoiser!r} is not one of {list(DENOISERS)}")
        if not self.down_dims or any(d < 1 for d in self.down_dims):
            raise ConfigError(f"agent.down_dims={self.down_dims} must be a non-empty list of positive widths")
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"agent.kernel_size={self.kernel_size} must be odd")
        if self.step_embed_dim < 2 or self.step_embed_dim % 2:
            raise ConfigError(f"agent.step_embed_dim={self.step_embed_dim} must be even and >= 2")
        if self.d_model % self.n_heads or self.d_model % 2:
            raise ConfigError(
                f"agent.d_model={self.d_model} must be even and divisible by agent.n_heads={self.n_heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"agent.dropout={self.dropout} must be in [0, 1)")
        if self.num_inference_steps is not None and not (
            1 <= self.num_inference_steps <= self.num_train_timesteps
        ):
            raise ConfigError(
                f"agent.num_inference_steps={self.num_inference_steps} must be in [1, "
                f"agent.num_train_timesteps={self.num_train_timesteps}], or null for the sampler's default"
            )
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"agent.sampler={self.sampler!r} is not one of {list(SAMPLERS)}")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ConfigError(
                f"agent.beta_schedule={self.beta_schedule!r} is not one of {list(BETA_SCHEDULES)}"
            )
        if self.prediction_type not in PREDICTION_TYPES:
            raise ConfigError(
                f"agent.prediction_type={self.prediction_type!r} is not one of {list(PREDICTION_TYPES)}"
            )
        if self.label not in LABELS:
            raise ConfigError(f"agent.label={self.label!r} is not one of {list(LABELS)}")
        if self.ema_power <= 0 or not 0.0 <= self.ema_max_decay < 1.0:
            raise ConfigError("agent.ema_power must be > 0 and agent.ema_max_decay in [0, 1)")
        if self.lr <= 0:
            raise ConfigError(f"agent.lr={self.lr} must be > 0")
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("agent.warmup_steps, agent.grad_clip and agent.weight_decay must be >= 0")
