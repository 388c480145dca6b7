"""Typed configs for every CLI command, registered in Hydra's ConfigStore, and their composition.

One module per concept: ``seeds`` (the seed plan), ``env`` (which env and how it observes),
``train`` (demos, trainer cadence, evaluation settings, ``workbench train``), ``commands`` (the other
commands), ``compose`` (Hydra composition and reading a run's config back). Each dataclass checks
itself in ``__post_init__`` with a message that names the key and says what to do.
"""

from agents.imitation.dagger_config import DaggerConfig
from perception.detection.config import CenterNetConfig
from perception.segmentation.config import UNetConfig
from workbench.config.backend import BACKEND_NAMES, BackendConfig
from workbench.config.commands import (
    EXPORT_FORMATS,
    POLICIES,
    BenchConfig,
    CollectConfig,
    EvalConfig,
    ExportConfig,
    ReplayConfig,
    ReportConfig,
    SysIdConfig,
)
from workbench.config.compose import (
    CONFIG_DIR,
    GROUPS,
    SCHEMAS,
    compose,
    group_options,
    load_train_config,
    register_configs,
    to_dataclass,
    to_yaml,
)
from workbench.config.env import EnvConfig, RandomizeConfig, check_obs_keys, expand_camera_keys
from workbench.config.seeds import SeedPlan, SeedRange
from workbench.config.train import (
    DEVICES,
    DemoConfig,
    EvalSettings,
    TrainConfig,
    TrainerConfig,
    check_device,
)

__all__ = [
    "BACKEND_NAMES",
    "CONFIG_DIR",
    "DEVICES",
    "EXPORT_FORMATS",
    "GROUPS",
    "POLICIES",
    "SCHEMAS",
    "BackendConfig",
    "BenchConfig",
    "CenterNetConfig",
    "CollectConfig",
    "DaggerConfig",
    "DemoConfig",
    "EnvConfig",
    "EvalConfig",
    "EvalSettings",
    "ExportConfig",
    "RandomizeConfig",
    "ReplayConfig",
    "ReportConfig",
    "SeedPlan",
    "SeedRange",
    "SysIdConfig",
    "TrainConfig",
    "TrainerConfig",
    "UNetConfig",
    "check_device",
    "check_obs_keys",
    "compose",
    "expand_camera_keys",
    "group_options",
    "load_train_config",
    "register_configs",
    "to_dataclass",
    "to_yaml",
]
