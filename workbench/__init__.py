"""Embodied Workbench: train, evaluate and replay robot-learning agents from one CLI.

``workbench.load_policy``, ``workbench.make_env`` and ``workbench.evaluate_policy`` are the notebook API
(:mod:`workbench.api`), imported on first use so that the CLI starts instantly.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["evaluate_policy", "load_policy", "make_env"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from workbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
