"""Behaviour-cloning configuration (no torch import: the CLI reads it for --help and validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

ACTIVATIONS = ("relu", "gelu", "mish", "tanh")
NORMALIZATIONS = ("gaussian", "minmax")
LABELS = ("actions", "expert_actions")


@dataclass
class BCConfig:
    """MLP behaviour cloning on low-dimensional observations.

    The policy sees ``obs_horizon`` stacked frames of every key in ``obs_keys`` and predicts
    ``action_horizon`` future actions (action chunking); it executes ``execute_horizon`` of them
    before predicting again.
    """

    name: str = "bc"
    obs_keys: list[str] = field(default_factory=lambda: ["state"])
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256, 256])
    activation: str = "relu"
    dropout: float = 0.0
    obs_horizon: int = 1
    action_horizon: int = 1
    execute_horizon: int = 1
    normalization: str = "gaussian"
    label: str = "actions"  # "expert_actions" trains on clean labels recorded beside noisy execution (DART)
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
        if not self.hidden_dims or any(h <= 0 for h in self.hidden_dims):
            raise ConfigError(f"agent.hidden_dims={self.hidden_dims} must be positive layer widths")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"agent.activation={self.activation!r} is not one of {list(ACTIVATIONS)}")
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"agent.normalization={self.normalization!r} is not one of {list(NORMALIZATIONS)}"
            )
        if self.label not in LABELS:
            raise ConfigError(f"agent.label={self.label!r} is not one of {list(LABELS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"agent.dropout={self.dropout} must be in [0, 1)")
        for key in ("obs_horizon", "action_horizon", "execute_horizon", "steps", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.execute_horizon > self.action_horizon:
            raise ConfigError(
                f"agent.execute_horizon={self.execute_horizon} exceeds agent.action_horizon="
                f"{self.action_horizon}; set it to at most the predicted horizon"
            )
        if self.lr <= 0:
            raise ConfigError(f"agent.lr={self.lr} must be > 0")
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("agent.warmup_steps, agent.grad_clip and agent.weight_decay must be >= 0")
