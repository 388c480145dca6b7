"""The seed plan: disjoint ranges of env seeds, one per use, declared once and checked when built.

Every episode the workbench runs starts from ``env.reset(seed=s)``, and the seed fixes the episode's
layout (cube, target, objects). A number is trustworthy only if the policy never saw the layouts it
is scored on, so the seeds of every use come from their own range::

    demos       expert demonstrations (and any dataset a policy trains on)
    rollouts    episodes a learner collects for itself: DAgger rounds, online RL resets
    test        final evaluation; a chosen recipe is scored here once
    validation  periodic evaluation during training and recipe / acting-setting choices
    sysid       excitation episodes of system identification (``workbench sysid``)

Ranges are half-open ``[start, start + size)`` and must not overlap (a config error naming both
keys). Adding a use (perception frames, self-supervised frames, language splits, system
identification) is one more field here: the overlap check and ``which`` cover it automatically.
A training seed ``S`` (``seed=S``) moves every training stream by ``S * TRAIN_SEED_STRIDE`` inside
its range, so the training seeds of a multi-seed benchmark row also vary the demonstrations and the
learner's own rollouts, not only the initialisation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from workbench.errors import ConfigError

# Demonstration / rollout seeds of training seed S start S * stride into their range: 10k episodes
# per training seed, 50 training seeds in a 500k range.
TRAIN_SEED_STRIDE = 10_000


@dataclass
class SeedRange:
    """Env seeds ``[start, start + size)``."""

    start: int = 0
    size: int = 1

    def __post_init__(self) -> None:
        if self.start < 0 or self.size < 1:
            raise ConfigError(f"a seed range needs start >= 0 and size >= 1 (got {self.start}, {self.size})")

    @property
    def stop(self) -> int:
        return self.start + self.size

    def __contains__(self, seed: object) -> bool:
        return isinstance(seed, int) and self.start <= seed < self.stop

    def overlaps(self, other: SeedRange) -> bool:
        return self.start < other.stop and other.start < self.stop

    def __str__(self) -> str:
        return f"[{self.start}, {self.stop})"


@dataclass
class SeedPlan:
    """Named disjoint seed ranges (see the module docstring). Override e.g. ``seeds.test.start=2000000``."""

    demos: SeedRange = field(default_factory=lambda: SeedRange(0, 500_000))
    rollouts: SeedRange = field(default_factory=lambda: SeedRange(500_000, 500_000))
    test: SeedRange = field(default_factory=lambda: SeedRange(1_000_000, 500_000))
    validation: SeedRange = field(default_factory=lambda: SeedRange(1_500_000, 500_000))
    sysid: SeedRange = field(default_factory=lambda: SeedRange(2_000_000, 100_000))

    def __post_init__(self) -> None:
        items = list(self.ranges().items())
        for i, (name_a, a) in enumerate(items):
            for name_b, b in items[i + 1 :]:
                if a.overlaps(b):
                    raise ConfigError(
                        f"seeds.{name_a} {a} overlaps seeds.{name_b} {b}; make the seed ranges disjoint"
                    )

    def ranges(self) -> dict[str, SeedRange]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def get(self, name: str) -> SeedRange:
        ranges = self.ranges()
        if name not in ranges:
            raise ConfigError(f"unknown seed range {name!r}; valid choices: {', '.join(ranges)}")
        return ranges[name]

    def which(self, seed: int) -> str | None:
        """The range a seed belongs to (None: outside every range)."""
        return next((name for name, r in self.ranges().items() if seed in r), None)

    def check_span(self, name: str, key: str, first: int, count: int) -> None:
        """Refuse ``count`` seeds from ``first`` (config key ``key``) unless they lie in range ``name``."""
        r = self.get(name)
        if first not in r or first + count > r.stop:
            inside = self.which(first)
            where = f" (inside seeds.{inside})" if inside and inside != name else ""
            raise ConfigError(
                f"{key}={first} with {count} episodes leaves seeds.{name} {r}{where}; "
                f"choose a start in {r} with room for {count} seeds, or leave {key} unset"
            )

    def train_start(self, name: str, train_seed: int) -> int:
        """First seed of a training stream (``demos`` or ``rollouts``) for training seed ``train_seed``."""
        r = self.get(name)
        start = r.start + train_seed * TRAIN_SEED_STRIDE
        if start >= r.stop:
            raise ConfigError(
                f"seed={train_seed} puts its {name} seeds at {start}, past seeds.{name} {r}; "
                f"use seed < {r.size // TRAIN_SEED_STRIDE}"
            )
        return start


def overlap(seeds: Iterable[int], others: Iterable[int]) -> list[int]:
    """Sorted seeds present in both collections."""
    return sorted(set(seeds) & set(others))


def format_seeds(seeds: list[int], limit: int = 8) -> str:
    """``0, 1, 2, ... (50 seeds)`` for one-line messages."""
    shown = ", ".join(str(s) for s in seeds[:limit])
    return shown + (f", ... ({len(seeds)} seeds)" if len(seeds) > limit else "")
