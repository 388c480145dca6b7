"""Configs of the RLlib agents (``rllib_ppo``, ``rllib_sac``): RLlib's own hyperparameter names.

RLlib trains on its new API stack (RLModule, Learner, EnvRunner actors on Ray); these dataclasses
hold what the workbench exposes of ``PPOConfig`` / ``SACConfig`` and turn it into one with
``to_rllib()``. No Ray import at module level: the CLI validates configs without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

ACTIVATIONS = ("relu", "tanh")


@dataclass
class RLlibConfig:
    """What both RLlib agents share. ``steps`` counts env steps (all EnvRunners together)."""

    name: str = "rllib_ppo"
    steps: int = 200_000
    num_env_runners: int = 1  # EnvRunner actors on Ray (0: sample in the driver)
    envs_per_runner: int = 4  # vector envs per EnvRunner
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    lr: float = 3e-4
    gamma: float = 0.99
    train_batch_size: int = 4000  # env steps per training iteration

    def __post_init__(self) -> None:
        for key in ("steps", "envs_per_runner", "train_batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.num_env_runners < 0:
            raise ConfigError(f"agent.num_env_runners={self.num_env_runners} must be >= 0")
        if not self.net_arch or min(self.net_arch) < 1:
            raise ConfigError(f"agent.net_arch={self.net_arch} needs at least one layer of width >= 1")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"agent.activation={self.activation!r} is not one of {list(ACTIVATIONS)}")
        if not 0.0 < self.gamma <= 1.0 or self.lr <= 0:
            raise ConfigError("agent.gamma must be in (0, 1] and agent.lr > 0")

    def model_config(self) -> dict[str, Any]:
        return {"fcnet_hiddens": list(self.net_arch), "fcnet_activation": self.activation}

    def algorithm_config(self) -> Any:
        raise NotImplementedError


@dataclass
class RLlibPPOConfig(RLlibConfig):
    name: str = "rllib_ppo"
    minibatch_size: int = 256
    num_epochs: int = 10
    lambda_: float = 0.95
    clip_param: float = 0.2
    entropy_coeff: float = 0.0
    vf_loss_coeff: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.minibatch_size > self.train_batch_size or self.num_epochs < 1:
            raise ConfigError("agent.minibatch_size must be <= agent.train_batch_size, agent.num_epochs >= 1")

    def algorithm_config(self) -> Any:
        from ray.rllib.algorithms.ppo import PPOConfig

        return PPOConfig().training(
            lr=self.lr, gamma=self.gamma, train_batch_size_per_learner=self.train_batch_size,
            minibatch_size=self.minibatch_size, num_epochs=self.num_epochs, lambda_=self.lambda_,
            clip_param=self.clip_param, entropy_coeff=self.entropy_coeff, vf_loss_coeff=self.vf_loss_coeff,
        )  # fmt: skip


@dataclass
class RLlibSACConfig(RLlibConfig):
    name: str = "rllib_sac"
    net_arch: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    train_batch_size: int = 256  # transitions per gradient step
    buffer_size: int = 1_000_000
    learning_starts: int = 1000  # env steps before the first update
    tau: float = 0.005
    n_step: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.buffer_size < self.train_batch_size or self.learning_starts < 0 or self.n_step < 1:
            raise ConfigError("need agent.buffer_size >= train_batch_size, learning_starts >= 0, n_step >= 1")

    def algorithm_config(self) -> Any:
        from ray.rllib.algorithms.sac import SACConfig

        return SACConfig().training(
            actor_lr=self.lr, critic_lr=self.lr, alpha_lr=self.lr, gamma=self.gamma, tau=self.tau,
            train_batch_size_per_learner=self.train_batch_size, n_step=self.n_step,
            num_steps_sampled_before_learning_starts=self.learning_starts,
            replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer", "capacity": self.buffer_size},
        )  # fmt: skip
