"""Configs of the commands other than ``train``: eval, collect, replay, bench, report, export."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from workbench.config.backend import BackendConfig
from workbench.config.env import EnvConfig, check_camera, check_size
from workbench.config.seeds import SeedPlan
from workbench.config.train import EvalSettings, check_device, check_split
from workbench.errors import ConfigError

POLICIES = ("expert", "random")


SIMULATORS = ("mujoco", "pybullet")


@dataclass
class EvalConfig(EvalSettings):
    """``workbench eval run=DIR`` or ``workbench eval env=ID policy=expert|random``.

    Seeds come from the seed plan: ``split=test`` (default) or ``split=validation``, starting at the
    range's start unless ``seed=`` says otherwise. A learned policy is never evaluated on a seed of
    its own training data unless ``allow_train_seeds=true``. ``agent.<key>=`` overrides how a trained
    policy acts (e.g. ``agent.execute_horizon=4``); only acting keys are accepted.
    """

    env: EnvConfig = field(default_factory=EnvConfig)
    run: str | None = None
    checkpoint: str | None = None
    policy: str | None = None
    agent: dict[str, Any] = field(default_factory=dict)  # acting overrides for run=
    # episodes, split, seed, num_envs and the video keys: EvalSettings'.
    backend: BackendConfig = field(default_factory=BackendConfig)
    seeds: SeedPlan = field(default_factory=SeedPlan)  # for run=, the run's own plan is used
    allow_train_seeds: bool = False
    # run= only: evaluate in another simulator (mujoco | pybullet: the run's task there), and/or
    # `nominal=true`: without the run's randomisation, sensor models and fitted parameters
    sim: str | None = None
    nominal: bool = False
    # run= only, Tabletop: the instruction split the episodes draw (seen, unseen_colour_shape,
    # unseen_verb_object, unseen_paraphrase, all); null: the run's own env setting
    instructions: str | None = None
    out: str | None = None
    device: str = "auto"
    debug: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device(self.device)
        if (self.sim is not None or self.nominal) and self.run is None:
            raise ConfigError("sim= and nominal= change a trained run's env; use them with run=RUN_DIR")
        if self.instructions is not None:
            from envs.tasks.language_splits import SPLITS

            if self.run is None:
                raise ConfigError(
                    "instructions= changes a trained run's instruction split; use it with run=RUN_DIR"
                )
            if self.instructions not in SPLITS:
                raise ConfigError(f"instructions={self.instructions!r} is not one of {list(SPLITS)}")
        if self.sim is not None and self.sim not in SIMULATORS:
            raise ConfigError(f"sim={self.sim!r} is not one of {list(SIMULATORS)}")
        if self.run is None and self.policy is None:
            raise ConfigError("say what to evaluate: run=RUN_DIR (a trained run) or policy=expert|random")
        if self.run is not None and self.policy is not None:
            raise ConfigError("give either run=RUN_DIR or policy=..., not both")
        if self.policy is not None and self.policy not in POLICIES:
            raise ConfigError(f"policy={self.policy!r} is not one of {list(POLICIES)}")
        if self.agent and self.run is None:
            raise ConfigError("agent.<key>= overrides apply to a trained policy; use them with run=RUN_DIR")
        check_split(self.split)
        self.settings(self.seeds)  # validates the shared fields and the seeds

    def settings(self, plan: SeedPlan) -> EvalSettings:
        """The evaluation settings with the seed resolved from ``plan`` (the run's, for run=)."""
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(EvalSettings)}
        return EvalSettings(**shared).resolved(plan, key="seed", strict=False)


@dataclass
class CollectConfig:
    """``workbench collect env=ID policy=expert episodes=N out=DIR``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: str = "expert"
    episodes: int = 100
    seed: int | None = None  # null: 0 for a new dataset, after the last recorded seed with append=true
    noise: float = 0.0
    success_only: bool = False
    num_envs: int = 4
    backend: BackendConfig = field(default_factory=BackendConfig)
    out: str | None = None
    append: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        if self.out is None:
            raise ConfigError("collect needs out=DIR, the dataset directory to write")
        if self.policy not in POLICIES:
            raise ConfigError(f"policy={self.policy!r} is not one of {list(POLICIES)}")
        if self.episodes < 1 or self.num_envs < 1:
            raise ConfigError("episodes and num_envs must be >= 1")
        if self.noise < 0:
            raise ConfigError(f"noise={self.noise} must be >= 0")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")


@dataclass
class ReplayConfig:
    """``workbench replay episode=PATH [out=FILE.mp4] [camera=NAME] [width=W height=H] [verify=true]``."""

    episode: str | None = None
    out: str | None = None
    camera: str = "front"
    width: int = 256
    height: int = 256
    fps: int | None = None
    verify: bool = False
    atol: float = 1e-9
    debug: bool = False

    def __post_init__(self) -> None:
        if self.episode is None:
            raise ConfigError("replay needs episode=PATH (an episode_XXXXXX.npz inside a dataset or run)")
        if self.width < 8 or self.height < 8:
            raise ConfigError(f"width/height = {self.width}x{self.height}; use at least 8x8")
        check_size(self.width, self.height, "width/height")
        check_camera(self.camera, "camera")
        if not self.atol >= 0:  # also refuses NaN
            raise ConfigError(f"atol={self.atol} must be >= 0 (the largest state difference verify accepts)")
        if self.fps is not None and self.fps < 1:
            raise ConfigError(f"fps={self.fps} must be >= 1")
        if self.out is not None and not self.out.endswith(".mp4"):
            raise ConfigError(f"out={self.out} must name an .mp4 file (the video to write)")


@dataclass
class SysIdConfig:
    """``workbench sysid source=ENV_ID target=TARGET_ENV`` or ``hidden.<param>=VALUE``: fit the source
    simulator's parameters to excitation trajectories recorded on the target (sim2real/sysid.py) and
    write them to ``out`` (a parameter file ``env.sim_params=`` loads)."""

    # the source simulator, whose parameters are fitted (a task env id; `env` names the config group)
    source: str = "wb/Push-mujoco-v0"
    target: str | None = None  # the target system: another env of the same task (e.g. its PyBullet twin)
    hidden: dict[str, float] = field(default_factory=dict)  # or: the source with these parameters
    params: list[str] = field(default_factory=lambda: ["friction", "damping", "gain"])
    flicks: int = 2  # excitation episodes that strike and release the object (friction)
    swings: int = 3  # excitation episodes of fast free-space moves (gain, damping)
    steps: int = 40  # env steps per excitation episode
    iterations: int = 40  # CMA-ES iterations per stage (arm, then contact; ~6 trajectory replays each)
    seed: int | None = None  # first excitation seed; default: the start of seeds.sysid
    seeds: SeedPlan = field(default_factory=SeedPlan)
    out: str = "sysid.json"
    debug: bool = False

    def __post_init__(self) -> None:
        import envs
        from envs.sim_params import SimParams
        from sim2real.sysid import FITTABLE

        for key, env_id in (("source", self.source), ("target", self.target)):
            if env_id is not None and env_id not in envs.TASK_ENV_IDS:
                valid = ", ".join(envs.TASK_ENV_IDS)
                raise ConfigError(f"{key}={env_id!r} is not a task env; valid: {valid}")
        if (self.target is None) == (not self.hidden):
            raise ConfigError(
                "say what the target system is: target=ENV_ID (e.g. the PyBullet twin) or "
                "hidden.<param>=VALUE (the source with hidden parameters), not both"
            )
        if self.target is not None and _task_of(self.target) != _task_of(self.source):
            raise ConfigError(f"target={self.target} is not the same task as source={self.source}")
        try:
            SimParams.from_dict(self.hidden, "hidden")
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        bad = [p for p in self.params if p not in FITTABLE]
        if bad or not self.params or len(set(self.params)) != len(self.params):
            raise ConfigError(f"params={list(self.params)}: name distinct parameters among {list(FITTABLE)}")
        for key in ("steps", "iterations"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}={getattr(self, key)} must be >= 1")
        if self.flicks < 0 or self.swings < 0 or self.flicks + self.swings < 1:
            raise ConfigError(f"flicks={self.flicks} swings={self.swings}: record at least one episode")
        first = self.first_seed
        self.seeds.check_span("sysid", "seed", first, self.flicks + self.swings)
        if not self.out.endswith(".json"):
            raise ConfigError(f"out={self.out} must name a .json parameter file")

    @property
    def first_seed(self) -> int:
        return self.seeds.sysid.start if self.seed is None else self.seed


def _task_of(env_id: str) -> str:
    return env_id.removeprefix("wb/").partition("-")[0]


@dataclass
class BenchConfig:
    """``workbench bench envs|train|imitation|sampler|rl|mbrl|planning|perception|ssl`` measures and
    writes its section of docs/benchmarks.md (``ssl``: the perception suite's self-supervised rows)."""

    expert_episodes: int = 100
    seeds: int = 1  # training seeds for `bench train`
    rows: list[str] = field(default_factory=list)  # `bench imitation|rl` rows to run; empty: all
    store: str | None = None  # results, one JSON file per row; None: docs/bench/<suite>
    # `bench rl|mbrl|perception` and imitation's kept rows: run directories, resumed by the next run;
    # None: runs/bench/<suite>
    work: str | None = None
    out: str = "docs/benchmarks.md"
    write: bool = True
    debug: bool = False

    def __post_init__(self) -> None:
        if self.expert_episodes < 1 or self.seeds < 1:
            raise ConfigError("expert_episodes and seeds must be >= 1")


@dataclass
class ReportConfig:
    """``workbench report run=RUN_DIR [out=DIR] [camera=NAME]``: learning curve and frame strip PNGs."""

    run: str | None = None
    out: str | None = None  # default: RUN_DIR/report
    camera: str = "front"
    frames: int = 6
    size: int = 160
    debug: bool = False

    def __post_init__(self) -> None:
        if self.run is None:
            raise ConfigError("report needs run=RUN_DIR (a finished training run)")
        if self.frames < 1 or self.size < 8:
            raise ConfigError("frames must be >= 1 and size >= 8")
        check_size(self.size, self.size, "size")
        check_camera(self.camera, "camera")


EXPORT_FORMATS = ("lerobot", "sb3")


@dataclass
class ExportConfig:
    """``workbench export dataset=DIR format=lerobot out=DIR`` (a dataset for LeRobot) or
    ``workbench export run=RUN format=sb3 out=FILE.zip`` (an RL policy as Stable-Baselines3's file)."""

    dataset: str | None = None
    run: str | None = None  # format=sb3: a run of an RL agent (its policy.pt), or a policy file
    format: str = "lerobot"
    out: str | None = None
    task: str | None = None  # the task description stored with every episode; default: the env id
    debug: bool = False

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ConfigError(f"format={self.format!r} is not one of {list(EXPORT_FORMATS)}")
        if self.format == "sb3" and (self.run is None or self.out is None):
            raise ConfigError("export format=sb3 needs run=RUN_DIR (an RL run) and out=FILE.zip")
        if self.format == "lerobot" and (self.dataset is None or self.out is None):
            raise ConfigError("export needs dataset=DIR (a workbench dataset) and out=DIR (where to write)")


