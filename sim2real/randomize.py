"""Domain randomisation as pure functions: ranges in, one episode's simulator parameters out.

The parameters are the ones every backend exposes (``envs/sim_params.py``: friction, masses, joint
damping, servo gains, control period, table and object colours, light, camera pose and field of
view). A :class:`Randomizer` is what the env factory hands an env (``env.randomize``); the env calls it
at every reset with the episode's generator, after drawing the layout, so the same seed gives the same
layout with or without randomisation and the same parameters every time. The drawn parameters are
part of ``get_state()``: replaying a randomised episode is exact.

Presets (``env.randomize.preset``), in the style of the field's defaults (Tobin et al. 2017 for the
visual ones, Peng et al. 2018 for dynamics), each entry a uniform range:

- ``visual``: table colour +-0.15 per channel, object colours x[0.7, 1.3], key light moved +-0.5 m per
  axis and x[0.6, 1.4] in intensity, fixed cameras moved +-2 cm per axis, field of view +-3 degrees;
- ``dynamics``: friction x[0.5, 1.5], object mass x[0.5, 2], joint damping x[0.5, 2], servo gain
  x[0.7, 1.3], control period x[0.9, 1.1];
- ``all``: both; ``none``: nothing.

Scalar factors multiply the env's base value (a system-identification file's, or the nominal 1);
offsets (``table_rgb``, ``light_shift``, ``camera_shift``, ``fov_delta``) are added to it. A triple's
range applies to each of its three entries independently. Image noise, blur and control latency are
sensor models (``sim2real/wrappers.py``, ``env.sensors``), not simulator parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from envs.sim_params import BOUNDS, LAYOUT, SimParams

# entries that are offsets (added); every other entry is a factor (multiplied)
OFFSETS = ("table_rgb", "light_shift", "camera_shift", "fov_delta")

VISUAL: dict[str, tuple[float, float]] = {
    "table_rgb": (-0.15, 0.15), "object_brightness": (0.7, 1.3), "light_shift": (-0.5, 0.5),
    "light": (0.6, 1.4), "camera_shift": (-0.02, 0.02), "fov_delta": (-3.0, 3.0),
}  # fmt: skip
DYNAMICS: dict[str, tuple[float, float]] = {
    "friction": (0.5, 1.5), "mass": (0.5, 2.0), "damping": (0.5, 2.0), "gain": (0.7, 1.3),
    "control_period": (0.9, 1.1),
}  # fmt: skip
PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "none": {}, "visual": VISUAL, "dynamics": DYNAMICS, "all": {**VISUAL, **DYNAMICS},
}  # fmt: skip


def resolve_ranges(
    preset: str, overrides: Mapping[str, Sequence[float]] | None = None, where: str = "env.randomize"
) -> dict[str, tuple[float, float]]:
    """The preset's ranges with ``overrides`` (name -> [low, high]) laid over them, checked: a bad
    preset, name or range raises ``ValueError`` in one line naming it."""
    if preset not in PRESETS:
        raise ValueError(f"{where}.preset={preset!r} is not one of {list(PRESETS)}")
    ranges = dict(PRESETS[preset])
    for name, value in (overrides or {}).items():
        if name not in LAYOUT:
            raise ValueError(f"{where}.ranges: unknown parameter {name!r}; valid: {', '.join(LAYOUT)}")
        pair = [float(v) for v in value]
        if len(pair) != 2 or not np.isfinite(pair).all() or pair[0] > pair[1]:
            raise ValueError(f"{where}.ranges.{name}={list(value)} must be [low, high] with low <= high")
        ranges[name] = (pair[0], pair[1])
    for name, (low, high) in ranges.items():
        if name not in OFFSETS and low <= 0:
            raise ValueError(f"{where}.ranges.{name}=[{low}, {high}] is a factor: it must be > 0")
        # the nominal value must stay valid at both ends (a base value from a file is checked when drawn)
        nominal = 0.0 if name in OFFSETS else 1.0
        ends = (nominal + low, nominal + high) if name in OFFSETS else (nominal * low, nominal * high)
        lo, hi = BOUNDS[name]
        if ends[0] < lo or ends[1] > hi:
            raise ValueError(
                f"{where}.ranges.{name}=[{low}, {high}] leaves the parameter's bounds [{lo}, {hi}]"
            )
    return ranges


def sample_params(
    rng: np.random.Generator, ranges: Mapping[str, tuple[float, float]], base: SimParams
) -> SimParams:
    """One episode's parameters: ``base`` with every ranged entry drawn uniformly (pure: the result
    depends on ``rng``'s state and the arguments only; entries are drawn in ``LAYOUT`` order)."""
    values = {name: getattr(base, name) for name in LAYOUT}
    for name, size in LAYOUT.items():
        if name not in ranges:
            continue
        low, high = ranges[name]
        draw = rng.uniform(low, high, size=size)  # (size,)
        value = np.asarray(values[name], dtype=np.float64).reshape(size)
        values[name] = value + draw if name in OFFSETS else value * draw
    return SimParams(**values)


@dataclass(frozen=True)
class Randomizer:
    """What an env calls at each reset: ``(episode generator, base parameters) -> parameters``.
    Plain data, so it travels to vector-env workers and Ray actors."""

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __call__(self, rng: np.random.Generator, base: SimParams) -> SimParams:
        return sample_params(rng, self.ranges, base)
