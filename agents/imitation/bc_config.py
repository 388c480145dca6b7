"""Behaviour-cloning configuration (no torch import: the CLI reads it for --help and validation).

One config for the whole BC family; the variants differ by data, not by class (see
``agents.registry``): ``bc`` stacks the history frames into an MLP, ``bc_rnn`` runs an LSTM over them
(robomimic's BC-RNN), ``bc_transformer`` a causal transformer (robomimic's BC-Transformer). Any of
them reads low-dimensional keys and/or ``rgb/<camera>`` images (one ResNet-18-GN + spatial-softmax
encoder per camera) and can predict action chunks, executed open loop or temporally ensembled (ACT).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.encoder_config import EncoderConfig

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

ACTIVATIONS = ("relu", "gelu", "mish", "tanh")
NORMALIZATIONS = ("gaussian", "minmax")
# Training labels: "auto" = the clean expert_actions wherever recorded (DART noise, DAgger), else
# the executed actions; the names are workbench.dataset.ACTION_KEYS (agents/ must not import workbench/).
LABELS = ("auto", "actions", "expert_actions")
BACKBONES = ("mlp", "rnn", "transformer")
# The gripper entry (last in every workbench Box controller: -1 closed .. +1 open): regressed with the
# arm (mse), or a binary open/close decision (binary: a logit trained with cross-entropy, acted as +-1).
GRIPPER_HEADS = ("mse", "binary")


@dataclass
class BCConfig:
    """Behaviour cloning: observations (history of ``obs_horizon`` frames) -> action chunk.

    The policy sees ``obs_horizon`` frames of every key in ``obs_keys`` and predicts
    ``action_horizon`` future actions (action chunking); it executes ``execute_horizon`` of them
    before predicting again, or, with ``temporal_ensemble``, predicts at every step and executes the
    exponentially weighted mean of all predictions for the current step (ACT, Zhao et al. 2023).
    """

    name: str = "bc"
    obs_keys: list[str] = field(default_factory=lambda: ["state"])
    backbone: str = "mlp"  # mlp (stacked frames) | rnn (LSTM over the history) | transformer (causal)
    # MLP backbone (and the layer widths of nothing else).
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256, 256])
    activation: str = "relu"
    dropout: float = 0.0
    # rnn backbone: robomimic's BC-RNN uses 2 layers of 400 units over 10 frames.
    rnn_hidden_dim: int = 400
    rnn_layers: int = 2
    # transformer backbone (causal, one token per history frame).
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    # Image keys (rgb/<camera>): one encoder per camera, configured by the shared schema.
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    # History and action chunking.
    obs_horizon: int = 1
    action_horizon: int = 1
    execute_horizon: int = 1
    temporal_ensemble: bool = False  # ACT: predict every step, average the chunks' votes for this step
    ensemble_decay: float = 0.01  # m in w_i = exp(-m * i), i = 0 the oldest prediction (ACT's default)
    normalization: str = "gaussian"
    # binary: the scripted experts switch the gripper between -1 and +1; a regressed gripper blurs the
    # switch (half-closed fingers near the grasp), a binary head keeps it a decision.
    gripper_head: str = "mse"
    gripper_loss_weight: float = 1.0  # weight of the gripper's cross-entropy beside the arm's mse
    # auto: clean expert labels where the demos recorded them (DART noise), else the executed actions
    label: str = "auto"
    # Training recipe for this agent (the offline trainer reads these).
    steps: int = 20_000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.obs_keys:
            raise ConfigError("agent.obs_keys is empty; list at least one observation key, e.g. [state]")
        if self.backbone not in BACKBONES:
            raise ConfigError(f"agent.backbone={self.backbone!r} is not one of {list(BACKBONES)}")
        if not self.hidden_dims or any(h <= 0 for h in self.hidden_dims):
            raise ConfigError(f"agent.hidden_dims={self.hidden_dims} must be positive layer widths")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"agent.activation={self.activation!r} is not one of {list(ACTIVATIONS)}")
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"agent.normalization={self.normalization!r} is not one of {list(NORMALIZATIONS)}"
            )
        if self.gripper_head not in GRIPPER_HEADS:
            raise ConfigError(
                f"agent.gripper_head={self.gripper_head!r} is not one of {list(GRIPPER_HEADS)}"
            )
        if self.gripper_loss_weight < 0:
            raise ConfigError(f"agent.gripper_loss_weight={self.gripper_loss_weight} must be >= 0")
        if self.label not in LABELS:
            raise ConfigError(f"agent.label={self.label!r} is not one of {list(LABELS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"agent.dropout={self.dropout} must be in [0, 1)")
        for key in (
            "obs_horizon", "action_horizon", "execute_horizon", "steps", "batch_size", "rnn_hidden_dim",
            "rnn_layers", "d_model", "n_layers", "n_heads",
        ):  # fmt: skip
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"agent.d_model={self.d_model} must be divisible by agent.n_heads={self.n_heads}"
            )
        if self.execute_horizon > self.action_horizon:
            raise ConfigError(
                f"agent.execute_horizon={self.execute_horizon} exceeds agent.action_horizon="
                f"{self.action_horizon}; set it to at most the predicted horizon"
            )
        if self.temporal_ensemble and self.execute_horizon != 1:
            raise ConfigError(
                "agent.temporal_ensemble=true queries the policy at every step; set "
                f"agent.execute_horizon=1 (got {self.execute_horizon})"
            )
        if self.ensemble_decay < 0:
            raise ConfigError(f"agent.ensemble_decay={self.ensemble_decay} must be >= 0")
        if self.lr <= 0:
            raise ConfigError(f"agent.lr={self.lr} must be > 0")
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("agent.warmup_steps, agent.grad_clip and agent.weight_decay must be >= 0")
