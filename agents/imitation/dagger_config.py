"""DAgger configuration (no numpy/torch import: the CLI reads it for --help and validation)."""

from __future__ import annotations

from dataclasses import dataclass

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

LABEL_MODES = ("all", "failures")  # which DAgger rollouts the expert labels
FINAL_CHOICES = ("last", "best")  # which round's policy a DAgger run returns


@dataclass
class DaggerConfig:
    """DAgger (Ross et al. 2011) around any BC-family agent: ``workbench train agent=bc dagger.rounds=5``.

    Round 0 trains the agent on the expert demos (plain BC). Each round r = 1..``rounds`` then rolls
    out ``episodes_per_round`` episodes executing the expert's action with probability
    ``beta_r = beta0 * beta_decay ** (r - 1)`` (the learner's otherwise), the scripted expert labels
    every visited state, the episodes are appended to the aggregated dataset and the agent is
    retrained on all expert labels so far for ``steps_per_round`` steps: from scratch, with the
    aggregated data's normalisation statistics (Ross et al.), or with ``warm_start`` fine-tuned from
    the previous round's weights (cheaper; the statistics of the initial demos stay).
    ``label_budget`` caps the expert labels in the aggregated dataset, demos included, so DAgger and
    BC can be compared at an equal number of labels. ``max_episode_steps`` cuts DAgger's rollouts
    short: an early learner that gets stuck would otherwise spend a demo's worth of labels on
    near-identical states every few dozen steps, so a label budget buys more distinct starts.

    ``label=failures`` asks the expert to label only the rollouts the learner failed (after the
    episode, so the expert must not act during it: ``beta0=0``); a budget then goes to the states where
    the learner goes wrong rather than to episodes it already solves. ``final=best`` returns the round
    whose policy scored best on the validation seeds, as Ross et al.'s Algorithm 3.1 does ("return the
    best policy on validation"); ``last`` returns the last round's.

    ``label_every=k`` asks the expert for every k-th visited state of a rollout only (from a seeded
    offset in [0, k)), each kept as a one-step sample: neighbouring states of a rollout are nearly the
    same, so a label budget spread k times thinner covers k times more of the learner's trajectories,
    to their end, where uncut rollouts would spend dozens of labels on one stuck state.
    """

    rounds: int = 0  # 0: no DAgger, plain behaviour cloning
    episodes_per_round: int = 10
    beta0: float = 0.5  # probability of executing the expert's action in round 1
    beta_decay: float = 0.5  # beta_r = beta0 * beta_decay ** (r - 1), decaying to 0
    label_budget: int = 0  # max expert labels (steps) in the aggregated data, demos included; 0: no cap
    max_episode_steps: int | None = None  # truncate DAgger rollouts (not eval) here; null: the env's
    steps_per_round: int | None = None  # training steps of rounds >= 1; null: agent.steps
    warm_start: bool = False  # fine-tune the previous round's policy instead of retraining from scratch
    # Rollout episode k of round r uses env seed seed + (r-1)*episodes_per_round + k; null: from the
    # seed plan's `rollouts` range, moved by the training seed (workbench/config/seeds.py).
    seed: int | None = None
    eval_every_round: bool = True  # evaluate after every round (success vs expert labels in metrics)
    label: str = "all"  # all: every rollout is labelled; failures: only the rollouts the learner failed
    final: str = "last"  # last: the last round's policy; best: the best round on the validation seeds
    label_every: int = 1  # the expert labels every k-th state of a rollout (1: every state)

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise ConfigError(f"dagger.rounds={self.rounds} must be >= 0 (0 disables DAgger)")
        if self.episodes_per_round < 1:
            raise ConfigError(f"dagger.episodes_per_round={self.episodes_per_round} must be >= 1")
        if not 0.0 <= self.beta0 <= 1.0 or not 0.0 <= self.beta_decay <= 1.0:
            raise ConfigError(
                f"dagger.beta0={self.beta0} and dagger.beta_decay={self.beta_decay} must be in [0, 1]"
            )
        if self.label_budget < 0:
            raise ConfigError(f"dagger.label_budget={self.label_budget} must be >= 0 (0: no cap)")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(
                f"dagger.max_episode_steps={self.max_episode_steps} must be >= 1 (or null: the env's limit)"
            )
        if self.steps_per_round is not None and self.steps_per_round < 1:
            raise ConfigError(f"dagger.steps_per_round={self.steps_per_round} must be >= 1 (or null)")

        if self.label_every < 1:
            raise ConfigError(f"dagger.label_every={self.label_every} must be >= 1 (1 labels every state)")
        if self.label not in LABEL_MODES:
            raise ConfigError(f"dagger.label={self.label!r} is not one of {list(LABEL_MODES)}")
        if self.label == "failures" and self.beta0 > 0:
            raise ConfigError(
                f"dagger.label=failures labels a rollout after it failed, so the expert must not act in "
                f"it: set dagger.beta0=0 (got {self.beta0})"
            )
        if self.final not in FINAL_CHOICES:
            raise ConfigError(f"dagger.final={self.final!r} is not one of {list(FINAL_CHOICES)}")
        if self.final == "best" and not self.eval_every_round:
            raise ConfigError(
                "dagger.final=best picks among the rounds' validations: set dagger.eval_every_round=true"
            )

    def beta(self, round_index: int) -> float:
        """Probability of executing the expert's action in DAgger round ``round_index`` (>= 1)."""
        if round_index < 1:
            raise ValueError(f"DAgger rounds are numbered from 1, got {round_index}")
        return self.beta0 * self.beta_decay ** (round_index - 1)
