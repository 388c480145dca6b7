"""Self-contained policy files: weights, normalisation statistics, config and spec in one ``.pt``.

Loading uses ``torch.load(weights_only=True)``: a policy file holds tensors and plain data only, so
opening a file from elsewhere cannot execute code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from agents.base import LearnedPolicy
from foundation.files import save_torch, verify_checksum

POLICY_FORMAT = "workbench-policy"
# Version 2: Diffusion Policy's chunk starts at the first observation frame (a[t-To+1], as the paper
# and LeRobot); a version-1 diffusion policy would act one step early. Other agents' layout is unchanged.
POLICY_VERSION = 2
MIGRATABLE = {1: lambda agent: agent != "diffusion"}  # version -> which agents load unchanged


def policy_spec(agent: LearnedPolicy) -> dict[str, Any]:
    """What rebuilds the agent's network (not its weights): name, config and specs."""
    return {
        "agent": agent.name,
        "config": dataclasses.asdict(agent.config),
        "obs_spec": agent.obs_spec,
        "action_spec": agent.action_spec,
    }


def policy_payload(agent: LearnedPolicy) -> dict[str, Any]:
    return {
        "format": POLICY_FORMAT,
        "version": POLICY_VERSION,
        **policy_spec(agent),
        "state_dict": agent.state_dict(),
    }


def save_policy(agent: Any, path: str | Path) -> None:
    """Write atomically (a temporary file in the same directory, then rename) with a ``.sha256``."""
    save_torch(policy_payload(agent), path)


def config_from_dict(factory: Any, data: dict[str, Any]) -> Any:
    """An agent config from its saved dict: nested config dataclasses (``encoder``, PETS' ``ensemble``
    and ``planner``) rebuilt from their dicts, older versions' keys migrated
    (:func:`agents.config_migrations.migrate_agent_config`)."""
    from agents.config_migrations import migrate_agent_config

    data = migrate_agent_config(dict(data))
    defaults = factory()  # the nested dataclasses' types, as the config declares them
    for key, value in data.items():
        nested = getattr(defaults, key, None)
        if isinstance(value, dict) and dataclasses.is_dataclass(nested) and not isinstance(nested, type):
            data[key] = dataclasses.replace(nested, **value)
    return factory(**data)


def check_version(path: str | Path, what: str, found: Any, expected: int) -> None:
    """Refuse a file of another format version with one line naming both versions."""
    if found != expected:
        raise ValueError(
            f"{path} is a {what} file of format version {found}; this workbench reads version {expected}: "
            "use the workbench version that wrote it, or re-create the file"
        )


def build_agent(payload: dict[str, Any], device: str | torch.device = "cpu") -> Any:
    """Rebuild an agent from a payload written by :func:`policy_payload` (or a checkpoint)."""
    from agents.registry import AGENTS

    name = payload.get("agent")
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r} in policy file; valid choices: {sorted(AGENTS)}")
    config = config_from_dict(AGENTS[name].config, payload["config"])
    agent = AGENTS[name].load_class()(config, payload["obs_spec"], payload["action_spec"])
    agent.load_state_dict(payload["state_dict"])
    return agent.to(device)


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> Any:
    return build_agent(read_policy(path), device)


def read_policy(path: str | Path) -> dict[str, Any]:
    """A policy file's payload (spec, config, state_dict), checked: present, checksum, format, version."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"policy file {path} not found")
    verify_checksum(path)  # a flipped byte in a tensor would otherwise load "fine"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/garbled zip files
        raise ValueError(f"{path} is corrupt or not a workbench policy file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != POLICY_FORMAT:
        raise ValueError(f"{path} is not a workbench policy file")
    version = payload.get("version")
    if not (version in MIGRATABLE and MIGRATABLE[version](payload.get("agent"))):
        check_version(path, "policy", version, POLICY_VERSION)
    return payload
