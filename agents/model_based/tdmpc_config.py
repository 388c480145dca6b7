"""Config of the TD-MPC-style agent: the latent planner and the agent (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.encoder_config import EncoderConfig
from agents.model_based.config import ConfigError


@dataclass
class LatentPlannerConfig:
    """TD-MPC's MPPI in latent space: ``population`` sequences per iteration, ``prior_samples`` of them
    rolled out by the policy prior, the ``elites`` best refit a Gaussian with weights
    softmax(temperature * value); the mean's first action is executed (plus the std's noise when
    exploring)."""

    horizon: int = 3
    iterations: int = 3  # TD-MPC2: 6 iterations of 512 samples on a GPU; sized for 20 ms on one CPU thread
    population: int = 128
    prior_samples: int = 16
    elites: int = 32
    temperature: float = 0.5
    min_std: float = 0.05
    max_std: float = 2.0

    def check(self) -> None:
        for key in ("horizon", "iterations", "population", "elites"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.planner.{key}={getattr(self, key)} must be >= 1")
        if not 0 <= self.prior_samples < self.population:
            raise ConfigError(
                f"agent.planner.prior_samples={self.prior_samples} must be in "
                f"[0, population={self.population})"
            )
        if self.elites > self.population:
            raise ConfigError(f"agent.planner.elites={self.elites} exceeds population={self.population}")
        if not 0 < self.min_std <= self.max_std:
            raise ConfigError(f"agent.planner: need 0 < min_std ({self.min_std}) <= max_std ({self.max_std})")


@dataclass
class TDMPCConfig:
    """A TD-MPC-style latent world model (Hansen et al. 2022, 2024): encoder to a SimNorm latent,
    latent dynamics, reward, an ensemble of Q-functions with EMA targets and a policy prior, trained
    on ``horizon``-step subsequences of replay with the temporal-consistency, reward and TD losses
    (weights ``rho**t``); acting plans with MPPI in latent space (``planner``).

    ``steps`` counts env steps; the first ``seed_steps`` act at random, then ``seed_steps`` updates
    at once and ``updates_per_step`` per env step."""

    name: str = "tdmpc"
    steps: int = 100_000
    num_envs: int = 1
    seed_steps: int = 1000
    updates_per_step: float = 1.0
    latent_dim: int = 64  # a multiple of simnorm_dim
    simnorm_dim: int = 8
    hidden_dim: int = 128  # TD-MPC2's smallest is 256: half the width, ~4x cheaper updates and plans on a CPU
    num_q: int = 2
    batch_size: int = 256
    lr: float = 3e-4
    gamma: float = 0.95
    tau: float = 0.01  # EMA of the target Q-functions
    rho: float = 0.5  # weight of step t of the horizon: rho**t
    consistency_coef: float = 20.0
    reward_coef: float = 0.1
    value_coef: float = 0.1
    entropy_coef: float = 1e-4
    # Reward and Q heads: logits over num_bins symlog bins in [vmin, vmax] trained by cross-entropy
    # (TD-MPC2's), whose gradient does not shrink with the reward's scale (Reach's dense rewards vary
    # by ~0.1); num_bins=1 regresses the scalar by MSE instead.
    num_bins: int = 101
    vmin: float = -10.0
    vmax: float = 10.0
    # Consistency and TD targets from an EMA copy of the observation encoder (TD-MPC 2022) rather than
    # the online encoder under no-grad (TD-MPC2). From pixels the online target let the encoder
    # collapse (one latent for every frame); the two-hot heads did not prevent that, the EMA copy did.
    target_encoder: bool = False
    grad_clip: float = 20.0
    obs_keys: list[str] = field(default_factory=lambda: ["state"])
    # Images (rgb/<camera> in obs_keys): one workbench encoder per camera (agents.rl.extractor), random
    # crops in training (DrQ's shift), its features joined with the vector keys before the latent MLP.
    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(name="nature_cnn", feature_dim=64, crop_ratio=0.9)
    )
    planner: LatentPlannerConfig = field(default_factory=LatentPlannerConfig)

    def __post_init__(self) -> None:
        for key in ("steps", "num_envs", "latent_dim", "simnorm_dim", "hidden_dim", "num_q", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.seed_steps < 0 or self.updates_per_step < 0:
            raise ConfigError("agent.seed_steps and agent.updates_per_step must be >= 0")
        if self.latent_dim % self.simnorm_dim:
            raise ConfigError(
                f"agent.latent_dim={self.latent_dim} must be a multiple of "
                f"agent.simnorm_dim={self.simnorm_dim}"
            )
        if self.num_bins < 1 or (self.num_bins > 1 and not self.vmin < self.vmax):
            raise ConfigError(
                f"agent.num_bins={self.num_bins}, agent.vmin={self.vmin}, agent.vmax={self.vmax}: need "
                "num_bins >= 1 (1: MSE regression) and vmin < vmax"
            )
        if self.num_q < 2:
            raise ConfigError(f"agent.num_q={self.num_q}: TD targets take the minimum of two Q-functions")
        if not 0.0 < self.gamma <= 1.0 or not 0.0 < self.tau <= 1.0 or not 0.0 < self.rho <= 1.0:
            raise ConfigError("agent.gamma, agent.tau and agent.rho must be in (0, 1]")
        if not self.obs_keys:
            raise ConfigError("agent.obs_keys must name at least one observation")
        self.planner.check()
