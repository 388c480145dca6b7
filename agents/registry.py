"""Explicit agent registry: name -> (config factory, dotted path of the agent class).

A config factory is a dataclass or a ``functools.partial`` of one with a variant's defaults (the
BC family is one config and one agent class; ``bc_rnn`` is BC with ``backbone="rnn"``). Calling it
with keyword overrides gives the config. Config classes are import-light (no torch) so the CLI can
validate and print help instantly; the agent class is imported only when an agent is built.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from agents.imitation.bc_config import BCConfig
from agents.imitation.diffusion_config import DiffusionConfig

AGENT_CONFIGS: dict[str, Callable[..., Any]] = {
    "bc": BCConfig,
    # robomimic's BC-RNN and BC-Transformer read a 10-frame history.
    "bc_rnn": functools.partial(BCConfig, name="bc_rnn", backbone="rnn", obs_horizon=10),
    "bc_transformer": functools.partial(
        BCConfig, name="bc_transformer", backbone="transformer", obs_horizon=10, dropout=0.1
    ),
    # State and image variants and the transformer denoiser are configs of one agent (configs/agent/).
    "diffusion": DiffusionConfig,
}

AGENT_CLASSES: dict[str, str] = {
    "bc": "agents.imitation.bc:BCAgent",
    "bc_rnn": "agents.imitation.bc:BCAgent",
    "bc_transformer": "agents.imitation.bc:BCAgent",
    "diffusion": "agents.imitation.diffusion:DiffusionAgent",
}

# Which trainer family each agent uses (one training loop per family).
AGENT_FAMILY: dict[str, str] = {
    "bc": "offline",
    "bc_rnn": "offline",
    "bc_transformer": "offline",
    "diffusion": "offline",
}


def agent_class(name: str) -> Any:
    if name not in AGENT_CLASSES:
        raise KeyError(f"unknown agent {name!r}; valid choices: {sorted(AGENT_CLASSES)}")
    module, attr = AGENT_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attr)
