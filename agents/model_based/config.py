"""Configs of PETS: the dynamics ensemble, the planner, the agent (TD-MPC's: ``tdmpc_config``).

Plain dataclasses with their checks (no torch import: the CLI validates configs without it).
Defaults are sized for a CPU: planning one action must cost <= 50 ms on one thread
(``workbench bench mbrl`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ConfigError = ValueError  # agents/ must not import workbench/; the CLI turns these into one line

PLANNERS = ("cem", "mppi")
REWARD_SOURCES = ("task", "learned")


@dataclass
class EnsembleConfig:
    """Probabilistic MLP ensemble predicting state deltas (Chua et al. 2018)."""

    members: int = 5
    elites: int = 5  # members used for planning: the best on held-out transitions
    hidden_dims: list[int] = field(default_factory=lambda: [128, 128, 128])
    activation: str = "silu"
    lr: float = 1e-3
    weight_decay: float = 5e-5
    batch_size: int = 256
    holdout_ratio: float = 0.1  # transitions held out to pick elites and stop early
    max_holdout: int = 5000
    max_epochs: int = 50  # per model update; stops earlier when the held-out loss stops improving
    patience: int = 5  # epochs without held-out improvement before stopping
    max_steps_per_update: int = 2000  # gradient steps per model update, whatever the data size

    def check(self) -> None:
        if self.members < 1 or not 1 <= self.elites <= self.members:
            raise ConfigError(
                f"agent.ensemble: members={self.members}, elites={self.elites}: need 1 <= elites <= members"
            )
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ConfigError(f"agent.ensemble.hidden_dims={self.hidden_dims} needs layers of width >= 1")
        if not 0.0 < self.holdout_ratio < 1.0:
            raise ConfigError(f"agent.ensemble.holdout_ratio={self.holdout_ratio} must be in (0, 1)")
        for key in ("batch_size", "max_epochs", "patience", "max_steps_per_update", "max_holdout"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.ensemble.{key}={getattr(self, key)} must be >= 1")
        if not self.lr > 0:
            raise ConfigError(f"agent.ensemble.lr={self.lr} must be > 0")


@dataclass
class PlannerConfig:
    """Sampling-based trajectory optimisation over action sequences, warm-started from the last plan.

    ``cem``: refit a Gaussian to the ``elites`` best of ``population`` samples, ``iterations`` times
    (``momentum`` keeps part of the previous mean and std). ``mppi``: a softmax-weighted mean of all
    samples with ``temperature``, the std kept at ``init_std`` (Williams et al. 2017)."""

    name: str = "cem"
    horizon: int = 10
    population: int = 100
    iterations: int = 3
    elites: int = 10
    momentum: float = 0.1
    init_std: float = 0.5
    min_std: float = 0.05
    temperature: float = 0.5  # mppi: weights softmax(returns / temperature) over normalised returns

    def check(self) -> None:
        if self.name not in PLANNERS:
            raise ConfigError(f"agent.planner.name={self.name!r} is not one of {list(PLANNERS)}")
        for key in ("horizon", "population", "iterations", "elites"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.planner.{key}={getattr(self, key)} must be >= 1")
        if self.elites > self.population:
            raise ConfigError(
                f"agent.planner.elites={self.elites} exceeds agent.planner.population={self.population}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"agent.planner.momentum={self.momentum} must be in [0, 1)")
        if not 0.0 < self.min_std <= self.init_std:
            raise ConfigError(
                f"agent.planner: need 0 < min_std ({self.min_std}) <= init_std ({self.init_std})"
            )
        if not self.temperature > 0:
            raise ConfigError(f"agent.planner.temperature={self.temperature} must be > 0")


@dataclass
class PETSConfig:
    """PETS: plan through the ensemble with trajectory sampling (TS-infinity: each particle keeps one
    elite member for the whole horizon), scoring imagined states with the task's reward
    (``reward=task``, the env's own ``state_reward``) or a learned reward head (``reward=learned``).

    ``steps`` counts env steps; the first ``seed_steps`` act uniformly at random; the models are
    refit every ``train_every`` env steps on everything collected so far."""

    name: str = "pets"
    steps: int = 2000
    num_envs: int = 1
    seed_steps: int = 500
    train_every: int = 100
    particles: int = 5  # per candidate action sequence; a multiple of ensemble.elites
    reward: str = "task"
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    # Filled in by the trainer from env.* (the task and reward type the task reward is computed for);
    # saved with the policy so a reloaded planner scores states exactly as in training.
    env_task: str = ""
    env_reward: str = "dense"

    def __post_init__(self) -> None:
        for key in ("steps", "num_envs", "train_every", "particles"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.seed_steps < 0:
            raise ConfigError(f"agent.seed_steps={self.seed_steps} must be >= 0")
        if self.reward not in REWARD_SOURCES:
            raise ConfigError(f"agent.reward={self.reward!r} is not one of {list(REWARD_SOURCES)}")
        self.ensemble.check()
        self.planner.check()
        if self.particles % self.ensemble.elites:
            raise ConfigError(
                f"agent.particles={self.particles} must be a multiple of agent.ensemble.elites="
                f"{self.ensemble.elites} (every elite member carries the same number of particles)"
            )


def bind_env(config: PETSConfig, env_id: str, obs_mode: str, reward: str) -> None:
    """Check the env suits the agent and record its task and reward type in the agent's config (the
    planner scores imagined states with that task's reward, also after the policy is reloaded)."""
    import envs
    from envs.tasks import get_task

    if env_id not in envs.TASK_ENV_IDS:
        raise ConfigError(f"agent={config.name} plans with a workbench task's reward; {env_id} is not one")
    if "state" not in obs_mode.split("+"):
        raise ConfigError(f"agent={config.name} plans over the task state: set env.obs_mode=state")
    task = envs.task_of(env_id)
    if config.reward == "task" and not get_task(task).has_state_reward:
        raise ConfigError(
            f"task {task!r} has no reward over states for the planner: use agent.reward=learned"
        )
    config.env_task, config.env_reward = task, reward
