"""Task definitions shared by every simulator backend. A plain dict registry: name -> Task."""

from __future__ import annotations

from envs.tasks.base import Layout, Scene, Task
from envs.tasks.push import PushTask
from envs.tasks.reach import ReachTask

TASKS: dict[str, Task] = {"reach": ReachTask(), "push": PushTask()}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


__all__ = ["TASKS", "Layout", "Scene", "Task", "get_task"]
