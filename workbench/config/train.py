"""``workbench train``'s config: env, agent, demos, trainer cadence, evaluation and the seed plan."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from agents.imitation.adversarial_config import AdversarialConfig
from agents.imitation.dagger_config import DaggerConfig
from workbench.config.backend import BackendConfig
from workbench.config.env import EnvConfig, check_camera, check_obs_keys, check_size, expand_camera_keys
from workbench.config.seeds import SeedPlan
from workbench.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
SPLITS = ("test", "validation")


@dataclass
class DemoConfig:
    """Expert demonstrations collected on the fly when ``dataset`` is not given."""

    episodes: int = 100
    noise: float = 0.0  # DART-style Gaussian noise on executed expert actions (labels stay clean)
    success_only: bool = True
    # Demo episode i uses env seed ``seed + i``; null: ``seeds.demos.start + 10000 * seed`` (the
    # training seed), so every training seed of a benchmark row sees its own demonstrations.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ConfigError(f"demos.episodes={self.episodes} must be >= 1")
        if self.noise < 0:
            raise ConfigError(f"demos.noise={self.noise} must be >= 0")


@dataclass
class TrainerConfig:
    """Cadence of logging, checkpoints and evaluation during training."""

    log_every: int = 100
    checkpoint_every: int = 2000
    eval_every: int = 0  # 0: evaluate only at the end
    keep_checkpoints: int = 3
    progress: bool = True
    world_size: int = 1  # > 1: data-parallel training in that many processes (DDP), same global batch
    # What policy.pt holds and the final test evaluation scores: the last weights, or the best on the
    # validation seeds (policy_best.pt, kept by periodic evaluation: needs eval_every > 0).
    final_policy: str = "last"

    def __post_init__(self) -> None:
        if self.final_policy not in ("last", "best"):
            raise ConfigError(f"trainer.final_policy={self.final_policy!r} is not one of ['last', 'best']")
        if self.final_policy == "best" and self.eval_every == 0:
            raise ConfigError(
                "trainer.final_policy=best picks among periodic evaluations: set trainer.eval_every"
            )
        for key in ("log_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"trainer.{key}={getattr(self, key)} must be >= 1")
        if self.world_size < 1:
            raise ConfigError(f"trainer.world_size={self.world_size} must be >= 1")
        if self.eval_every < 0 or self.keep_checkpoints < 1:
            raise ConfigError("trainer.eval_every must be >= 0 and trainer.keep_checkpoints >= 1")


@dataclass
class EvalSettings:
    """How policies are evaluated: seeded episodes on a vector env, with video of the first few.

    Episode i uses env seed ``seed + i``; ``seed`` null means the start of the ``split``'s range in
    the seed plan (``test`` for final evaluation, ``validation`` for periodic evaluation)."""

    episodes: int = 50
    validation_episodes: int | None = None  # periodic evaluation during training; None: `episodes`
    split: str = "test"
    seed: int | None = None
    num_envs: int = 4
    video: bool = True
    video_episodes: int = 4
    camera: str = "front"
    video_width: int = 256
    video_height: int = 256

    def __post_init__(self) -> None:
        if self.episodes < 1 or (self.validation_episodes is not None and self.validation_episodes < 1):
            raise ConfigError(f"episodes={self.episodes} (and validation_episodes) must be >= 1")
        if self.num_envs < 1:
            raise ConfigError(f"num_envs={self.num_envs} must be >= 1")
        if self.video_episodes < 0 or self.video_width < 8 or self.video_height < 8:
            raise ConfigError("video_episodes must be >= 0 and the video size at least 8x8")
        check_size(self.video_width, self.video_height, "video_width/video_height")
        check_camera(self.camera, "camera")

    def resolved(self, plan: SeedPlan, key: str = "eval.seed", strict: bool = True) -> EvalSettings:
        """A copy with ``seed`` set from the plan. ``strict``: an explicit seed must lie in the split's
        range (training runs); otherwise (``workbench eval seed=``) any seed is accepted and
        ``split`` names the range it falls in (``none`` outside the plan); held-out checks apply."""
        if self.seed is None:
            return dataclasses.replace(self, seed=plan.get(self.split).start)
        if strict:
            plan.check_span(self.split, key, self.seed, self.episodes)
            return dataclasses.replace(self)
        return dataclasses.replace(self, split=plan.which(self.seed) or "none")

    @property
    def first_seed(self) -> int:
        if self.seed is None:
            raise ValueError("EvalSettings.seed is unresolved; call resolved(plan) first")
        return self.seed

    def for_validation(self, plan: SeedPlan) -> EvalSettings:
        """Periodic evaluation during training: no video, on the validation range, so choosing the
        best checkpoint (or a recipe) never peeks at the test episodes."""
        episodes = self.validation_episodes or self.episodes
        return dataclasses.replace(
            self, video=False, split="validation", seed=plan.validation.start, episodes=episodes
        )


def check_split(split: str, key: str = "split") -> None:
    if split not in SPLITS:
        raise ConfigError(f"{key}={split!r} is not one of {list(SPLITS)}")


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise ConfigError(f"device={device!r} is not one of {list(DEVICES)}")


@dataclass
class TrainConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: Any = None  # one of agents.registry.AGENTS' configs, chosen by the `agent=` group
    demos: DemoConfig = field(default_factory=DemoConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    dagger: DaggerConfig = field(default_factory=DaggerConfig)  # dagger.rounds > 0: DAgger around the agent
    # adversarial.method=gail: an SB3 agent learns from a discriminator of the expert demos' (s, a)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)  # where demos, DAgger and eval run
    seeds: SeedPlan = field(default_factory=SeedPlan)
    seed: int = 0  # the training seed: initialisation, batch order, and which demos / rollouts
    run_dir: str | None = None
    runs_root: str = "runs"
    dataset: str | None = None
    resume: str | None = None
    device: str = "auto"
    threads: str = "auto"  # torch CPU threads: auto (1 for small state models) or a number
    debug: bool = False

    def __post_init__(self) -> None:
        check_device(self.device)
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")
        if getattr(self.agent, "obs_keys", None):
            self.agent.obs_keys = expand_camera_keys(self.agent.obs_keys, self.env.cameras)
            check_obs_keys(self.agent.obs_keys, self.env)
        # Resolve every seed stream from the plan, so config.yaml records the concrete seeds.
        if self.demos.seed is None:
            self.demos.seed = self.seeds.train_start("demos", self.seed)
        self.seeds.check_span("demos", "demos.seed", self.demos.seed, self.demos.episodes)
        if self.dagger.seed is None:
            self.dagger.seed = self.seeds.train_start("rollouts", self.seed)
        if self.dagger.rounds > 0:
            count = self.dagger.rounds * self.dagger.episodes_per_round
            self.seeds.check_span("rollouts", "dagger.seed", self.dagger.seed, count)
        check_split(self.eval.split, "eval.split")
        self.eval = self.eval.resolved(self.seeds)
        import envs

        if self.learns_online:
            self._check_online()
            return
        needs_expert = self.dataset is None or self.dagger.rounds > 0
        if needs_expert and self.env.id not in envs.TASK_ENV_IDS:
            raise ConfigError(
                f"{self.env.id} has no scripted expert for demonstrations or DAgger labels; "
                "train on a recorded dataset=DIR"
            )
        if self.env.id in envs.TASK_ENV_IDS and needs_expert:
            # Demos and DAgger labels come from the scripted expert, which drives only some
            # controllers: refuse now, not after building envs.
            try:
                envs.check_expert_controller(self.env.id, self.env.controller)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc

    @property
    def learns_online(self) -> bool:
        """The agent learns from its own interaction (RL): no demonstrations, no dataset."""
        from agents.registry import AGENTS

        name = getattr(self.agent, "name", None)
        return name in AGENTS and AGENTS[name].family == "online"

    def _check_online(self) -> None:
        from agents.registry import AGENTS

        name = self.agent.name
        if self.dataset is not None:
            raise ConfigError(f"agent={name} learns from its own interaction; it takes no dataset= (drop it)")
        if self.dagger.rounds > 0:
            raise ConfigError(f"dagger.rounds labels an offline agent's rollouts; agent={name} learns online")
        if self.trainer.world_size > 1:
            raise ConfigError(
                f"trainer.world_size > 1 trains offline agents; agent={name} trains in one process"
            )
        from agents.model_based.config import PETSConfig, bind_env

        if isinstance(self.agent, PETSConfig):  # the planner scores states with the task's reward
            bind_env(self.agent, self.env.id, self.env.obs_mode, self.env.reward)
        if self.backend.name == "ray" and AGENTS[name].trainer in ("online", "model_based"):  # lockstep
            raise ConfigError(
                f"agent={name} steps its envs in lockstep with the learner: use backend=sync or "
                "backend=async (backend=ray ships whole episodes, for collection and evaluation)"
            )
        if self.adversarial.enabled:
            self._check_adversarial()
        # Rollout episodes start from the seed plan's rollouts range for this training seed.
        self.seeds.train_start("rollouts", self.seed)

    def _check_adversarial(self) -> None:
        """Adversarial imitation needs an SB3 agent with continuous actions and the observation its
        learned reward reads; GAIL and AIRL the expert's demos too."""
        import envs
        from agents.registry import AGENTS

        name, method = self.agent.name, self.adversarial.method
        if AGENTS[name].trainer != "online" or name == "dqn":
            raise ConfigError(
                f"adversarial.method={method} trains an SB3 agent with continuous actions "
                f"(ppo, sac, td3, tqc); agent={name} is not one"
            )
        if method == "airl" and name != "ppo":
            raise ConfigError(f"adversarial.method=airl needs pi(a|s) in closed form: agent=ppo, not {name}")
        if method == "airl" and self.env.obs_mode != self.adversarial.obs_key:
            raise ConfigError(
                f"adversarial.method=airl reads pi(a|s) on {self.adversarial.obs_key!r} alone: set "
                f"env.obs_mode={self.adversarial.obs_key} (got {self.env.obs_mode})"
            )
        if method == "airl":
            self.adversarial.gamma = float(getattr(self.agent, "gamma", self.adversarial.gamma))
        if getattr(self.agent, "her", False):
            raise ConfigError("adversarial imitation replaces the reward HER relabels: set agent.her=false")
        if self.env.id not in envs.TASK_ENV_IDS:
            raise ConfigError(f"{self.env.id} has no scripted expert for the demonstrations GAIL imitates")
        if self.adversarial.obs_key not in self.env.obs_mode.split("+"):
            raise ConfigError(
                f"adversarial.obs_key={self.adversarial.obs_key!r} is not observed (env.obs_mode="
                f"{self.env.obs_mode}); the learned reward reads it"
            )
        if method == "learned":
            return  # no demos: the recovered reward of adversarial.reward_from trains the policy
        try:
            envs.check_expert_controller(self.env.id, self.env.controller)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
