"""The simulator parameters every backend exposes: the hook domain randomisation and system
identification turn (``sim2real/`` samples and fits them; ``envs/`` only applies them).

One flat vector with a fixed layout, so the parameters of an episode ride in ``get_state()`` and
``set_state()`` restores them: replaying a randomised episode is as exact as replaying a nominal one.
Every entry means the same in MuJoCo and PyBullet:

| name | default | meaning |
|---|---|---|
| ``friction`` | 1 | multiplier on the sliding friction of every object contact (table, fingers) |
| ``mass`` | 1 | multiplier on every object's mass (and inertia) |
| ``damping`` | 1 | multiplier on the arm joints' viscous damping (1 N m s/rad nominal) |
| ``gain`` | 1 | multiplier on the arm servos' position gain (MuJoCo kp, PyBullet positionGain) |
| ``control_period`` | 1 | multiplier on the physics time per env step (the controller still assumes 0.05 s) |
| ``table_rgb`` | 0, 0, 0 | added to the table's colour (clipped to [0, 1]) |
| ``object_brightness`` | 1 | multiplier on the colours of the task's objects and markers |
| ``light_shift`` | 0, 0, 0 | added to the key light's position (m): the lighting direction |
| ``light`` | 1 | multiplier on the light's intensity |
| ``camera_shift`` | 0, 0, 0 | added to every fixed camera's position (m, world frame; aim moves too) |
| ``fov_delta`` | 0 | added to every camera's vertical field of view (degrees) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

# name -> size in the vector, in vector order
LAYOUT: dict[str, int] = {
    "friction": 1, "mass": 1, "damping": 1, "gain": 1, "control_period": 1,
    "table_rgb": 3, "object_brightness": 1, "light_shift": 3, "light": 1, "camera_shift": 3, "fov_delta": 1,
}  # fmt: skip
SIZE = sum(LAYOUT.values())
DYNAMICS = ("friction", "mass", "damping", "gain", "control_period")
VISUAL = tuple(name for name in LAYOUT if name not in DYNAMICS)
# Bounds outside which the simulators misbehave or the entry means nothing (checked on every set).
BOUNDS: dict[str, tuple[float, float]] = {
    "friction": (0.01, 10.0), "mass": (0.01, 100.0), "damping": (0.0, 1000.0), "gain": (0.05, 20.0),
    "control_period": (0.2, 5.0), "table_rgb": (-1.0, 1.0), "object_brightness": (0.0, 3.0),
    "light_shift": (-5.0, 5.0), "light": (0.0, 5.0), "camera_shift": (-0.5, 0.5), "fov_delta": (-30.0, 30.0),
}  # fmt: skip


def _zeros3() -> np.ndarray:
    return np.zeros(3)


@dataclass(eq=False)
class SimParams:
    """Simulator parameters of one episode (see the module's table). Scalars are floats, triples (3,)."""

    friction: float = 1.0
    mass: float = 1.0
    damping: float = 1.0
    gain: float = 1.0
    control_period: float = 1.0
    table_rgb: np.ndarray = field(default_factory=_zeros3)
    object_brightness: float = 1.0
    light_shift: np.ndarray = field(default_factory=_zeros3)
    light: float = 1.0
    camera_shift: np.ndarray = field(default_factory=_zeros3)
    fov_delta: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), dtype=np.float64)
            if value.size != LAYOUT[f.name]:
                raise ValueError(f"sim parameter {f.name} takes {LAYOUT[f.name]} value(s), got {value.size}")
            low, high = BOUNDS[f.name]
            if not (np.isfinite(value).all() and (value >= low).all() and (value <= high).all()):
                raise ValueError(f"sim parameter {f.name}={value.tolist()} is outside [{low}, {high}]")
            setattr(
                self, f.name, float(value.reshape(-1)[0]) if LAYOUT[f.name] == 1 else value.reshape(3).copy()
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimParams) and bool(np.array_equal(self.to_vector(), other.to_vector()))

    def __hash__(self) -> int:
        return hash(self.to_vector().tobytes())

    def to_vector(self) -> np.ndarray:
        """(SIZE,) float64 in ``LAYOUT`` order."""
        return np.concatenate(
            [np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64)) for name in LAYOUT]
        )

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> SimParams:
        vector = np.asarray(vector, dtype=np.float64).reshape(SIZE)
        out: dict[str, Any] = {}
        i = 0
        for name, size in LAYOUT.items():
            out[name] = vector[i] if size == 1 else vector[i : i + size]
            i += size
        return cls(**out)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "sim parameters") -> SimParams:
        """From a name -> value mapping (a system-identification file); unknown names are refused."""
        unknown = sorted(set(values) - set(LAYOUT))
        if unknown:
            raise ValueError(f"{where}: unknown parameter(s) {unknown}; valid: {', '.join(LAYOUT)}")
        kwargs: dict[str, Any] = {
            k: np.asarray(v, dtype=np.float64) if LAYOUT[k] == 3 else float(v) for k, v in values.items()
        }
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            name: (v.tolist() if isinstance(v := getattr(self, name), np.ndarray) else v) for name in LAYOUT
        }


# What an env calls at every reset, after the layout is drawn: (the episode's generator, the env's
# base parameters) -> this episode's parameters. ``sim2real.randomize.Randomizer`` is one.
Randomizer = Callable[[np.random.Generator, SimParams], SimParams]
