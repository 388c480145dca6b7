"""Adversarial imitation configuration (no torch import: the CLI reads it for --help and validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

METHODS = ("none", "gail", "airl", "learned")


@dataclass
class AdversarialConfig:
    """Adversarial imitation around an SB3 agent, trained on a learned reward instead of the env's.

    - ``gail`` (Ho & Ermon 2016; ``agent=gail`` is ``agent=ppo adversarial.method=gail``; any SB3 agent
      with continuous actions): a discriminator D(s, a) learns to tell the expert's (state, action)
      pairs (``demos.episodes`` scripted demos, seeds from the plan's demos range) from the policy's
      own; the policy learns from r = -log(1 - D(s, a)).
    - ``airl`` (Fu et al. 2018; ``agent=airl``, PPO): D = sigmoid(f - log pi(a|s)) with
      f = g(s) + gamma h(s') - h(s); the policy learns from f - log pi(a|s); g, a reward of the state
      alone, is the *recovered reward*, written to ``RUN/reward.pt``.
    - ``learned``: no discriminator; the policy learns from the reward the AIRL run ``reward_from``
      recovered (reward transfer: a fresh policy on the recovered reward), standardised by g's spread
      over the expert's and the first policy's states: ``transfer=g`` g(s') alone (the disentangled,
      state-only reward), ``transfer=shaped`` f = g(s) + gamma h(s') - h(s) (g with AIRL's learned
      potential shaping, which leaves the optimal policy unchanged in the same dynamics).

    Each training iteration (one SB3 collection) is followed by ``updates`` discriminator steps on the
    pairs just collected against as many expert pairs; ``gradient_penalty`` (on interpolates, WGAN-GP
    style) keeps D smooth. The env's own reward and success are still logged and scored: they never
    train.
    """

    method: str = "none"  # none | gail | airl | learned
    reward_from: str | None = None  # learned: the AIRL run (or its reward.pt) whose g(s) to learn from
    gamma: float = 0.99  # airl: the shaping term's discount (the agent's gamma)
    hidden_dims: list[int] = field(default_factory=lambda: [64, 64])
    lr: float = 3e-4
    batch_size: int = 256
    updates: int = 4  # discriminator steps per training iteration
    gradient_penalty: float = 1.0
    obs_key: str = "state"  # the observation D reads (with the action)
    transfer: str = "g"  # learned: g | shaped (see above)
    # A uniform sample of this many of all the policy's transitions so far, which D trains against
    # beside the latest iteration's (0: the latest only): it keeps D, and AIRL's g, accurate on the
    # states of earlier, worse policies, which a fresh policy in reward transfer visits.
    replay: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"adversarial.method={self.method!r} is not one of {list(METHODS)}")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ConfigError(f"adversarial.hidden_dims={self.hidden_dims} must be positive layer widths")
        if (self.method == "learned") != (self.reward_from is not None):
            raise ConfigError(
                "adversarial.method=learned needs adversarial.reward_from=RUN (an AIRL run), and only it"
            )
        if self.transfer not in ("g", "shaped"):
            raise ConfigError(f"adversarial.transfer={self.transfer!r} is not one of ['g', 'shaped']")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"adversarial.gamma={self.gamma} must be in [0, 1]")
        counts_ok = min(self.batch_size, self.updates) >= 1 and self.replay >= 0
        if not self.lr > 0 or not counts_ok or self.gradient_penalty < 0:
            raise ConfigError(
                "adversarial.lr must be > 0, batch_size and updates >= 1, replay and gradient_penalty >= 0"
            )

    @property
    def enabled(self) -> bool:
        return self.method != "none"
