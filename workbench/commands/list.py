"""``workbench list``: registered envs, agents and experiment presets."""

from __future__ import annotations

from typing import Any

from workbench.config import group_options


def run(cfg: Any = None) -> dict[str, list[str]]:
    import envs
    from agents.registry import AGENT_CONFIGS

    listing = {
        "envs": list(envs.ENV_IDS),
        "agents": sorted(AGENT_CONFIGS),
        "experiments": group_options("experiment"),
    }
    for section, names in listing.items():
        print(f"{section}:")
        for name in names:
            print(f"  {name}")
    return listing
