"""Explicit agent registry: name -> (config dataclass, dotted path of the agent class).

Config classes are import-light (no torch) so the CLI can validate and print help instantly; the
agent class is imported only when an agent is built.
"""

from __future__ import annotations

import importlib
from typing import Any

from agents.imitation.bc_config import BCConfig

AGENT_CONFIGS: dict[str, type] = {
    "bc": BCConfig,
}

AGENT_CLASSES: dict[str, str] = {
    "bc": "agents.imitation.bc:BCAgent",
}

# Which trainer family each agent uses (one training loop per family).
AGENT_FAMILY: dict[str, str] = {
    "bc": "offline",
}


def agent_class(name: str) -> Any:
    if name not in AGENT_CLASSES:
        raise KeyError(f"unknown agent {name!r}; valid choices: {sorted(AGENT_CLASSES)}")
    module, attr = AGENT_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attr)
