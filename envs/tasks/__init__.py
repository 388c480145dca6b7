"""Task definitions shared by every simulator backend. A plain dict registry: name -> Task."""

from __future__ import annotations

from envs.tasks.base import Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task
from envs.tasks.pick_place import PickPlaceTask
from envs.tasks.push import PushTask
from envs.tasks.push_around import PushAroundTask
from envs.tasks.push_t import PushTTask
from envs.tasks.reach import ReachTask
from envs.tasks.stack import StackTask
from envs.tasks.tabletop import TabletopTask

TASKS: dict[str, Task] = {
    "reach": ReachTask(),
    "push": PushTask(),
    "pick_place": PickPlaceTask(),
    "stack": StackTask(),
    "push_t": PushTTask(),
    "push_around": PushAroundTask(),
    "tabletop": TabletopTask(),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


__all__ = ["TASKS", "Layout", "MarkerSpec", "ObjectSpec", "Pose", "Scene", "Task", "get_task"]
