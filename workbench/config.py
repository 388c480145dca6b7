"""Typed configs for every CLI command, registered in Hydra's ConfigStore, and their composition.

The CLI composes ``configs/<command>.yaml`` with Hydra's compose API (no working-directory change,
no log files), converts the result to these dataclasses at the entry point, and nothing below the
entry point sees a DictConfig. Each dataclass checks itself in ``__post_init__`` with a message
that names the key and says what to do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.imitation.dagger_config import DaggerConfig
from workbench.errors import ConfigError, one_line

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
GROUPS = ("env", "agent", "experiment")
DEVICES = ("auto", "cpu", "cuda", "mps")
POLICIES = ("expert", "random")
BACKENDS = ("local",)
VALIDATION_SEED_OFFSET = 500_000  # periodic-evaluation seeds = eval.seed + this


@dataclass
class EnvConfig:
    """Which registered env to build and with which observation setup."""

    id: str = "wb/Push-mujoco-v0"
    obs_mode: str = "state"
    cameras: list[str] = field(default_factory=lambda: ["front"])
    width: int = 84
    height: int = 84
    max_episode_steps: int | None = None  # None: the registered TimeLimit
    # ee_delta | ee_delta_yaw | joint_pos | joint_vel | discrete; None: the task's default
    controller: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to the env constructor as is

    def __post_init__(self) -> None:
        import envs  # light: registration only

        if self.id not in envs.ENV_IDS:
            raise ConfigError(f"unknown env {self.id!r}; valid choices: {', '.join(envs.ENV_IDS)}")
        if self.width < 8 or self.height < 8:
            raise ConfigError(f"env.width/env.height = {self.width}x{self.height}; use at least 8x8")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(f"env.max_episode_steps={self.max_episode_steps} must be >= 1 (or null)")
        if not self.cameras:
            raise ConfigError("env.cameras is empty; name at least one camera, e.g. [front]")
        if self.controller is not None:
            from envs.controllers import CONTROLLERS

            if self.controller not in CONTROLLERS:
                raise ConfigError(f"env.controller={self.controller!r} is not one of {list(CONTROLLERS)}")

    def make_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs for ``gymnasium.make(self.id, **kwargs)``."""
        import envs

        if self.id not in envs.TASK_ENV_IDS:
            # Passthrough envs (e.g. wb/CartPole-v1) have no observation modes or cameras.
            passthrough: dict[str, Any] = dict(self.kwargs)
            if self.max_episode_steps is not None:
                passthrough["max_episode_steps"] = self.max_episode_steps
            return passthrough
        kwargs: dict[str, Any] = {
            "obs_mode": self.obs_mode,
            "cameras": tuple(self.cameras),
            "width": self.width,
            "height": self.height,
            **self.kwargs,
        }
        if self.controller is not None:
            kwargs["controller"] = self.controller
        if self.max_episode_steps is not None:
            kwargs["max_episode_steps"] = self.max_episode_steps
        return kwargs


@dataclass
class DemoConfig:
    """Expert demonstrations collected on the fly when ``dataset`` is not given."""

    episodes: int = 100
    noise: float = 0.0  # DART-style Gaussian noise on executed expert actions (labels stay clean)
    success_only: bool = True
    seed: int = 0  # demo episode i uses env seed ``seed + i`` (kept apart from eval seeds)

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

    def __post_init__(self) -> None:
        for key in ("log_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"trainer.{key}={getattr(self, key)} must be >= 1")
        if self.eval_every < 0 or self.keep_checkpoints < 1:
            raise ConfigError("trainer.eval_every must be >= 0 and trainer.keep_checkpoints >= 1")


@dataclass
class EvalSettings:
    """How policies are evaluated: seeded episodes on a vector env, with video of the first few."""

    episodes: int = 50
    seed: int = 1_000_000  # episode i uses env seed ``seed + i``; far from demo seeds
    num_envs: int = 4
    backend: str = "local"
    video: bool = True
    video_episodes: int = 4
    camera: str = "front"
    video_width: int = 256
    video_height: int = 256

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ConfigError(f"episodes={self.episodes} must be >= 1")
        if self.num_envs < 1:
            raise ConfigError(f"num_envs={self.num_envs} must be >= 1")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend={self.backend!r} is not one of {list(BACKENDS)}")
        if self.video_episodes < 0 or self.video_width < 8 or self.video_height < 8:
            raise ConfigError("video_episodes must be >= 0 and the video size at least 8x8")

    def for_validation(self) -> EvalSettings:
        """Periodic evaluation during training: no video, and seeds disjoint from the final
        evaluation's, so keeping the best checkpoint does not peek at the test episodes."""
        return dataclasses.replace(self, video=False, seed=self.seed + VALIDATION_SEED_OFFSET)


def _check_device(device: str) -> None:
    if device not in DEVICES:
        raise ConfigError(f"device={device!r} is not one of {list(DEVICES)}")


@dataclass
class TrainConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: Any = None  # one of agents.registry.AGENT_CONFIGS, chosen by the `agent=` group
    demos: DemoConfig = field(default_factory=DemoConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    dagger: DaggerConfig = field(default_factory=DaggerConfig)  # dagger.rounds > 0: DAgger around the agent
    seed: int = 0
    run_dir: str | None = None
    runs_root: str = "runs"
    dataset: str | None = None
    resume: str | None = None
    device: str = "auto"
    debug: bool = False

    def __post_init__(self) -> None:
        _check_device(self.device)
        if getattr(self.agent, "obs_keys", None):
            self.agent.obs_keys = expand_camera_keys(self.agent.obs_keys, self.env.cameras)
            _check_obs_keys(self.agent.obs_keys, self.env)


def expand_camera_keys(keys: list[str], cameras: tuple[str, ...] | list[str]) -> list[str]:
    """A bare camera mode in ``agent.obs_keys`` means that image from every camera of the env:
    ``[rgb, proprio]`` with ``env.cameras=[agentview, wrist]`` -> ``[rgb/agentview, rgb/wrist, proprio]``.
    The run's config.yaml records the expanded keys, so a checkpoint names the cameras it was trained on."""
    from envs.scene_spec import IMAGE_MODES

    out: list[str] = []
    for key in keys:
        if key in IMAGE_MODES:
            out.extend(f"{key}/{cam}" for cam in cameras)
        else:
            out.append(key)
    return out


def _check_obs_keys(keys: list[str], env: EnvConfig) -> None:
    """Fail before demos are collected when the env will not give the agent what it reads."""
    modes = env.obs_mode.split("+")
    for key in keys:
        mode, _, camera = key.partition("/")
        if mode not in modes or (camera and camera not in env.cameras):
            raise ConfigError(
                f"agent.obs_keys has {key!r} but env.obs_mode={env.obs_mode} with env.cameras="
                f"{list(env.cameras)} does not provide it; e.g. env.obs_mode=rgb+proprio env.cameras=[front]"
            )


@dataclass
class EvalConfig:
    """``workbench eval run=DIR`` or ``workbench eval env=ID policy=expert|random``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    run: str | None = None
    checkpoint: str | None = None
    policy: str | None = None
    episodes: int = 50
    seed: int = 1_000_000
    num_envs: int = 4
    backend: str = "local"
    video: bool = True
    video_episodes: int = 4
    camera: str = "front"
    video_width: int = 256
    video_height: int = 256
    out: str | None = None
    device: str = "auto"
    debug: bool = False

    def __post_init__(self) -> None:
        _check_device(self.device)
        if self.run is None and self.policy is None:
            raise ConfigError("say what to evaluate: run=RUN_DIR (a trained run) or policy=expert|random")
        if self.run is not None and self.policy is not None:
            raise ConfigError("give either run=RUN_DIR or policy=..., not both")
        if self.policy is not None and self.policy not in POLICIES:
            raise ConfigError(f"policy={self.policy!r} is not one of {list(POLICIES)}")
        self.settings()  # validates the shared fields

    def settings(self) -> EvalSettings:
        return EvalSettings(
            episodes=self.episodes,
            seed=self.seed,
            num_envs=self.num_envs,
            backend=self.backend,
            video=self.video,
            video_episodes=self.video_episodes,
            camera=self.camera,
            video_width=self.video_width,
            video_height=self.video_height,
        )


@dataclass
class CollectConfig:
    """``workbench collect env=ID policy=expert episodes=N out=DIR``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: str = "expert"
    episodes: int = 100
    seed: int = 0
    noise: float = 0.0
    success_only: bool = False
    num_envs: int = 4
    backend: str = "local"
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
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend={self.backend!r} is not one of {list(BACKENDS)}")


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


@dataclass
class BenchConfig:
    """``workbench bench envs|train|imitation`` measures and writes its section of docs/benchmarks.md."""

    expert_episodes: int = 100
    seeds: int = 1  # training seeds for `bench train`
    rows: list[str] = field(default_factory=list)  # `bench imitation` rows to run; empty: all
    store: str = "docs/bench/imitation.json"  # `bench imitation` results, accumulated across runs
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


EXPORT_FORMATS = ("lerobot",)


@dataclass
class ExportConfig:
    """``workbench export dataset=DIR format=lerobot out=DIR``."""

    dataset: str | None = None
    format: str = "lerobot"
    out: str | None = None
    task: str | None = None  # the task description stored with every episode; default: the env id
    debug: bool = False

    def __post_init__(self) -> None:
        if self.dataset is None or self.out is None:
            raise ConfigError("export needs dataset=DIR (a workbench dataset) and out=DIR (where to write)")
        if self.format not in EXPORT_FORMATS:
            raise ConfigError(f"format={self.format!r} is not one of {list(EXPORT_FORMATS)}")


SCHEMAS: dict[str, type] = {
    "train": TrainConfig,
    "eval": EvalConfig,
    "collect": CollectConfig,
    "replay": ReplayConfig,
    "bench": BenchConfig,
    "export": ExportConfig,
    "report": ReportConfig,
}


def register_configs() -> None:
    """Register the command schemas and agent schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    from agents.registry import AGENT_CONFIGS

    cs = ConfigStore.instance()
    for command, schema in SCHEMAS.items():
        cs.store(name=f"{command}_schema", node=schema)
    for name, make_config in AGENT_CONFIGS.items():
        # An instance, not the class: a registry entry may be a partial with the variant's defaults.
        cs.store(group="agent", name=f"{name}_schema", node=make_config())


def group_options(group: str) -> list[str]:
    """Option names of a config group, read from the YAML tree (no Hydra import: used by --help)."""
    root = CONFIG_DIR / group
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def _check_group_choices(overrides: list[str]) -> None:
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.lstrip("+~")
        if sep and key in GROUPS:
            options = group_options(key)
            if value not in options and value != "null":
                raise ConfigError(f"unknown {key} {value!r}; valid choices: {', '.join(options)}")


def _translate(exc: Exception, overrides: list[str]) -> ConfigError:
    """Turn Hydra/OmegaConf errors into one line that names the key and what to do."""
    message = one_line(exc)
    cause = exc.__cause__
    if "Could not override" in message or ("Key '" in message and "not in struct" in message):
        key = message.split("'")[1] if "'" in message else "?"
        return ConfigError(
            f"unknown config key {key!r}; run `workbench <command> --help` for the valid keys"
        )
    if "Error merging override" in message and cause is not None:
        item = message.replace("Error merging override", "").strip()
        return ConfigError(f"bad value in {item!r}: {one_line(cause).split(' full_key:')[0]}")
    return ConfigError(message)


def compose(command: str, overrides: list[str]) -> Any:
    """Compose ``configs/<command>.yaml`` with CLI overrides and return the typed dataclass."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    _check_group_choices(overrides)
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = hydra_compose(config_name=command, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _translate(exc, overrides) from exc
    return to_dataclass(cfg)


def to_dataclass(cfg: Any) -> Any:
    """DictConfig -> dataclass, turning validation errors into ConfigError."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(cfg)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(one_line(exc)) from exc
    except OmegaConfBaseException as exc:
        inner = exc.__cause__ if isinstance(exc.__cause__, ValueError) else exc
        raise ConfigError(one_line(inner).split(" full_key:")[0]) from exc


def to_yaml(config: Any) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(config))


def load_train_config(path: Path) -> TrainConfig:
    """Read a run's resolved ``config.yaml`` back into a TrainConfig."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from agents.registry import AGENT_CONFIGS

    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; is this a workbench run directory?")
    try:
        raw = OmegaConf.load(path)
    except Exception as exc:  # yaml errors come in several types
        raise ConfigError(f"{path} is corrupt ({one_line(exc)})") from exc
    agent_name = raw.agent.get("name") if isinstance(raw, DictConfig) and "agent" in raw else None
    if agent_name not in AGENT_CONFIGS:
        raise ConfigError(f"{path}: unknown agent {agent_name!r}; valid choices: {sorted(AGENT_CONFIGS)}")
    schema = OmegaConf.structured(TrainConfig)
    schema.agent = OmegaConf.structured(AGENT_CONFIGS[agent_name]())
    try:
        merged = OmegaConf.merge(schema, raw)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from exc
    return to_dataclass(merged)

