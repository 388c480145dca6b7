"""Composition: the command schemas in Hydra's ConfigStore, ``compose(command, overrides)`` and
reading a run's ``config.yaml`` back. The CLI converts to dataclasses here; nothing below the entry
point sees a DictConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config.commands import (
    BenchConfig,
    CollectConfig,
    EvalConfig,
    ExportConfig,
    ReplayConfig,
    ReportConfig,
    SysIdConfig,
)
from workbench.config.perception import (
    PerceptionCollectConfig,
    PerceptionExplainConfig,
    PerceptionShowConfig,
    PerceptionTrainConfig,
)
from workbench.config.train import TrainConfig
from workbench.errors import ConfigError, one_line

CONFIG_DIR = Path(__file__).resolve().parent.parent.parent / "configs"
GROUPS = ("env", "agent", "experiment", "backend")


SCHEMAS: dict[str, type] = {
    "train": TrainConfig,
    "eval": EvalConfig,
    "collect": CollectConfig,
    "replay": ReplayConfig,
    "bench": BenchConfig,
    "export": ExportConfig,
    "report": ReportConfig,
    "sysid": SysIdConfig,
    "perception_collect": PerceptionCollectConfig,
    "perception_train": PerceptionTrainConfig,
    "perception_explain": PerceptionExplainConfig,
    "perception_show": PerceptionShowConfig,
}


_REGISTERED: list[bool] = []  # once per process: the store outlives every compose


def register_configs() -> None:
    """Register the command schemas and agent schemas in Hydra's ConfigStore, once per process (each
    registration turns every schema into an OmegaConf node: 1-2 s, once per compose before)."""
    from hydra.core.config_store import ConfigStore

    from agents.registry import AGENTS

    if _REGISTERED:
        return
    _REGISTERED.append(True)
    cs = ConfigStore.instance()
    for command, schema in SCHEMAS.items():
        cs.store(name=f"{command}_schema", node=schema)
    for name, spec in AGENTS.items():
        # An instance, not the class: a registry entry may be a partial with the variant's defaults.
        cs.store(group="agent", name=f"{name}_schema", node=spec.config())


OPEN_DICTS: dict[str, tuple[str, ...]] = {"eval": ("agent.",), "sysid": ("hidden.",)}


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


def quote_values(overrides: list[str]) -> list[str]:
    """Quote values Hydra's override grammar cannot read bare (non-ASCII letters, ``=``), so paths
    such as ``out=données/run`` or ``out=a=b`` mean what they say. Quoted, bracketed and plain
    values pass through unchanged."""
    out = []
    for item in overrides:
        key, sep, value = item.partition("=")
        awkward = "=" in value or any(ord(c) > 127 for c in value)
        if sep and value and awkward and value[0] not in "'\"[{":
            escaped = value.replace("\\", "\\\\").replace("'", "\\'")
            item = f"{key}='{escaped}'"
        out.append(item)
    return out


QUOTING_HINT = (
    "quote the value for Hydra inside the shell's quotes, e.g. \"out='my,path'\"; "
    "see https://hydra.cc/docs/advanced/override_grammar/basic"
)


def _translate(exc: Exception, overrides: list[str]) -> ConfigError:
    """Turn Hydra/OmegaConf errors into one line that names the key and what to do."""
    message = one_line(exc)
    cause = exc.__cause__
    if "LexerNoViableAltException" in message or "mismatched input" in message:
        culprit = next((o for o in overrides if o.split("=", 1)[0] in message or o in message), None)
        where = f" in {culprit!r}" if culprit else ""
        return ConfigError(f"cannot parse the override{where}: {QUOTING_HINT}")
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
    return to_dataclass(compose_raw(command, overrides))


def compose_raw(command: str, overrides: list[str]) -> Any:
    """The composed DictConfig before validation (``workbench list`` reads presets with it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    _check_group_choices(overrides)
    overrides = quote_values(overrides)
    # Keys of open dicts (eval's acting overrides `agent.<key>=`, sysid's `hidden.<param>=`, the
    # randomisation ranges `env.randomize.ranges.<param>=`): Hydra needs `++` to add or set one.
    open_dicts = ("env.randomize.ranges.", *OPEN_DICTS.get(command, ()))
    overrides = [f"++{o}" if o.startswith(open_dicts) else o for o in overrides]
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = hydra_compose(config_name=command, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _translate(exc, overrides) from exc
    return cfg


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

    from agents.registry import AGENTS

    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; is this a workbench run directory?")
    try:
        raw = OmegaConf.load(path)
    except Exception as exc:  # yaml errors come in several types
        raise ConfigError(f"{path} is corrupt ({one_line(exc)})") from exc
    agent_name = raw.agent.get("name") if isinstance(raw, DictConfig) and "agent" in raw else None
    if agent_name not in AGENTS:
        raise ConfigError(f"{path}: unknown agent {agent_name!r}; valid choices: {sorted(AGENTS)}")
    from agents.config_migrations import migrate_agent_config

    # Runs before the sampler kept `eval.backend: local` (one in-process vector env): now `backend`.
    if "eval" in raw and "backend" in raw.eval:
        del raw.eval["backend"]
    # Older runs' agent keys (flat image-encoder keys, retired training-only keys): today's.
    raw.agent = OmegaConf.create(migrate_agent_config(OmegaConf.to_container(raw.agent)))  # type: ignore[arg-type]
    schema = OmegaConf.structured(TrainConfig)
    schema.agent = OmegaConf.structured(AGENTS[agent_name].config())
    try:
        merged = OmegaConf.merge(schema, raw)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from exc
    return to_dataclass(merged)

