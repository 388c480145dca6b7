"""Configs of the model-free RL agents: one dataclass per algorithm family, SB3's names and defaults.

The fields are Stable-Baselines3's own hyperparameters under their own names (``learning_rate``,
``buffer_size``, ``n_steps``, ...), so an RL Zoo recipe translates key for key. Each algorithm has
its own dataclass, so a key that does not apply (``agent.n_steps`` on SAC) is refused by name as an
unknown config key instead of being silently ignored. ``to_sb3()`` turns a config into the keyword
arguments of the SB3 constructor; nothing here imports SB3 (the CLI validates without torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.encoder_config import EncoderConfig

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

ACTIVATIONS = ("relu", "tanh", "elu", "gelu")
HER_STRATEGIES = ("future", "final", "episode")


@dataclass
class RLConfig:
    """What every SB3 agent shares. ``steps`` counts env steps (SB3's ``total_timesteps``)."""

    name: str = "sac"
    steps: int = 100_000
    num_envs: int = 1  # envs stepped side by side (SB3's n_envs); rollouts use backend=sync|async
    net_arch: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    learning_rate: float = 3e-4
    gamma: float = 0.99
    batch_size: int = 256
    # Image observations (rgb/<camera>): one encoder per camera as an SB3 features extractor
    # (agents/rl/extractor.py); SB3's NatureCNN by default, no crop augmentation.
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(name="nature_cnn", feature_dim=256,
                                                                         crop_ratio=1.0))  # fmt: skip

    def __post_init__(self) -> None:
        if self.encoder.lr_scale != 1:
            raise ConfigError(
                "agent.encoder.lr_scale: SB3 builds its own optimizers; use agent.encoder.freeze"
            )
        for key in ("steps", "num_envs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if not self.net_arch or min(self.net_arch) < 1:
            raise ConfigError(f"agent.net_arch={self.net_arch} needs at least one layer of width >= 1")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"agent.activation={self.activation!r} is not one of {list(ACTIVATIONS)}")
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"agent.gamma={self.gamma} must be in (0, 1]")
        if not self.learning_rate > 0:
            raise ConfigError(f"agent.learning_rate={self.learning_rate} must be > 0")

    @property
    def off_policy(self) -> bool:
        return False

    def encoder_kwargs(self) -> dict[str, Any]:
        return {"encoder": asdict(self.encoder)}

    def to_sb3(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 algorithm (policy_kwargs' activation as a name: see algorithms)."""
        return {
            "learning_rate": self.learning_rate,
            "gamma": self.gamma,
            "batch_size": self.batch_size,
            "policy_kwargs": {"net_arch": list(self.net_arch)},
        }


@dataclass
class OffPolicyConfig(RLConfig):
    """Replay-buffer algorithms (DQN, SAC, TD3, TQC), optionally with hindsight relabelling (HER)."""

    buffer_size: int = 1_000_000
    learning_starts: int = 100
    tau: float = 0.005
    train_freq: int = 1  # env steps (per env) between updates
    gradient_steps: int = 1  # per update; -1: as many as env steps collected
    her: bool = False  # HER (needs env.obs_mode=goal: observation / achieved_goal / desired_goal)
    her_goals: int = 4  # relabelled goals per real transition (SB3's n_sampled_goal)
    her_strategy: str = "future"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.buffer_size < 2 or self.learning_starts < 0 or self.train_freq < 1:
            raise ConfigError(
                "agent.buffer_size must be >= 2, agent.learning_starts >= 0, agent.train_freq >= 1"
            )
        if self.gradient_steps == 0 or self.gradient_steps < -1:
            raise ConfigError(f"agent.gradient_steps={self.gradient_steps} must be >= 1 or -1")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"agent.tau={self.tau} must be in (0, 1]")
        if self.her_strategy not in HER_STRATEGIES:
            raise ConfigError(
                f"agent.her_strategy={self.her_strategy!r} is not one of {list(HER_STRATEGIES)}"
            )
        if self.her_goals < 1:
            raise ConfigError(f"agent.her_goals={self.her_goals} must be >= 1")

    @property
    def off_policy(self) -> bool:
        return True

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out.update(buffer_size=self.buffer_size, learning_starts=self.learning_starts, tau=self.tau,
                   train_freq=self.train_freq, gradient_steps=self.gradient_steps)  # fmt: skip
        if self.her:
            out["replay_buffer_kwargs"] = {
                "n_sampled_goal": self.her_goals,
                "goal_selection_strategy": self.her_strategy,
            }
        return out


@dataclass
class DQNConfig(OffPolicyConfig):
    """DQN (Mnih et al. 2015) with SB3's linear epsilon schedule over the first fraction of steps."""

    name: str = "dqn"
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    learning_rate: float = 1e-4
    batch_size: int = 32
    tau: float = 1.0
    train_freq: int = 4
    buffer_size: int = 100_000
    learning_starts: int = 1000
    target_update_interval: int = 10_000  # env steps between target-network copies (tau=1)
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    max_grad_norm: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.exploration_fraction <= 1.0:
            raise ConfigError(f"agent.exploration_fraction={self.exploration_fraction} must be in (0, 1]")
        for key in ("exploration_initial_eps", "exploration_final_eps"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be in [0, 1]")
        if self.target_update_interval < 1:
            raise ConfigError(f"agent.target_update_interval={self.target_update_interval} must be >= 1")

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out.update(target_update_interval=self.target_update_interval,
                   exploration_fraction=self.exploration_fraction,
                   exploration_initial_eps=self.exploration_initial_eps,
                   exploration_final_eps=self.exploration_final_eps,
                   max_grad_norm=self.max_grad_norm)  # fmt: skip
        return out


@dataclass
class SACConfig(OffPolicyConfig):
    """SAC (Haarnoja et al. 2018) with a learned entropy coefficient by default."""

    name: str = "sac"
    ent_coef: str = "auto"  # auto | auto_<init> | a fixed number, as SB3 takes it
    target_entropy: str = "auto"  # auto (-|A|) | a number
    # Images: one encoder, trained by the critic's loss, its features detached for the actor, as in DrQ
    # (Kostrikov et al. 2020; agents/rl/drq.py; SB3's own sharing trains it by the actor's loss).
    # False: SB3's default, an encoder each for the actor and the critic, each trained by its own loss.
    share_features_extractor: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_coef(self.ent_coef, "agent.ent_coef", auto=True)
        _check_coef(self.target_entropy, "agent.target_entropy", auto=True, exact_auto=True)

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out["policy_kwargs"]["share_features_extractor"] = self.share_features_extractor
        out["ent_coef"] = _coef(self.ent_coef)
        out["target_entropy"] = _coef(self.target_entropy)
        return out


@dataclass
class TQCConfig(SACConfig):
    """TQC (Kuznetsov et al. 2020, sb3-contrib): SAC with truncated mixtures of quantile critics."""

    name: str = "tqc"
    n_quantiles: int = 25
    n_critics: int = 2
    top_quantiles_to_drop: int = 2  # per critic network

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_quantiles < 1 or self.n_critics < 1:
            raise ConfigError("agent.n_quantiles and agent.n_critics must be >= 1")
        if not 0 <= self.top_quantiles_to_drop < self.n_quantiles:
            raise ConfigError(
                f"agent.top_quantiles_to_drop={self.top_quantiles_to_drop} must be in [0, agent.n_quantiles)"
            )

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out["top_quantiles_to_drop_per_net"] = self.top_quantiles_to_drop
        out["policy_kwargs"].update(n_quantiles=self.n_quantiles, n_critics=self.n_critics)
        return out


@dataclass
class TD3Config(OffPolicyConfig):
    """TD3 (Fujimoto et al. 2018) with Gaussian exploration noise of std ``action_noise``."""

    name: str = "td3"
    learning_rate: float = 1e-3
    action_noise: float = 0.1  # std of the Gaussian exploration noise, in units of the action range
    policy_delay: int = 2
    target_policy_noise: float = 0.2
    target_noise_clip: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.action_noise < 0 or self.target_policy_noise < 0 or self.target_noise_clip < 0:
            raise ConfigError("agent.action_noise, target_policy_noise and target_noise_clip must be >= 0")
        if self.policy_delay < 1:
            raise ConfigError(f"agent.policy_delay={self.policy_delay} must be >= 1")

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out.update(policy_delay=self.policy_delay, target_policy_noise=self.target_policy_noise,
                   target_noise_clip=self.target_noise_clip)  # fmt: skip
        return out


@dataclass
class PPOConfig(RLConfig):
    """PPO (Schulman et al. 2017): ``n_steps`` per env per update, ``n_epochs`` passes over it."""

    name: str = "ppo"
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    batch_size: int = 64
    n_steps: int = 2048
    n_epochs: int = 10
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_steps < 2 or self.n_epochs < 1:
            raise ConfigError("agent.n_steps must be >= 2 and agent.n_epochs >= 1")
        if not 0.0 <= self.gae_lambda <= 1.0 or self.clip_range <= 0:
            raise ConfigError("agent.gae_lambda must be in [0, 1] and agent.clip_range > 0")
        if self.n_steps * self.num_envs < self.batch_size:
            raise ConfigError(
                f"agent.batch_size={self.batch_size} exceeds one rollout (agent.n_steps x agent.num_envs = "
                f"{self.n_steps * self.num_envs}); lower agent.batch_size or raise agent.n_steps"
            )

    def to_sb3(self) -> dict[str, Any]:
        out = super().to_sb3()
        out.update(n_steps=self.n_steps, n_epochs=self.n_epochs, gae_lambda=self.gae_lambda,
                   clip_range=self.clip_range, ent_coef=self.ent_coef, vf_coef=self.vf_coef,
                   max_grad_norm=self.max_grad_norm, target_kl=self.target_kl)  # fmt: skip
        return out


def _coef(text: str) -> str | float:
    return text if text.startswith("auto") else float(text)


def _check_coef(text: str, key: str, auto: bool, exact_auto: bool = False) -> None:
    if auto and (text == "auto" or (not exact_auto and text.startswith("auto_"))):
        if text.startswith("auto_"):
            _check_coef(text[5:], key, auto=False)
        return
    try:
        float(text)
    except ValueError:
        forms = "auto or a number" if exact_auto else "auto, auto_<initial value> or a number"
        raise ConfigError(f"{key}={text!r} is not valid; use {forms}") from None
