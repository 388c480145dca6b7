"""Benchmark rows as data: ``configs/bench/<suite>.yaml`` -> typed, checked ``Row`` objects.

A row is one ``workbench train`` override list, run for ``seeds`` training seeds and evaluated on the
run's seeded test episodes. Its goals are numbers the code checks (not prose), and ``shaped_by``
names the paths whose changes make a stored result stale (see ``provenance``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Metrics a relative goal may compare (per-seed means from the stored result; see ``results``).
METRICS = ("success", "coverage", "wall_minutes", "latency_ms", "samples_per_s", "return")


class RowError(ValueError):
    """A malformed benchmark-row file: the message names the row, the key and what to write."""


@dataclass(frozen=True)
class RelativeGoal:
    """``metric`` of this row >= ``metric`` of row ``than`` + ``by`` (e.g. DAgger >= BC + 0.15)."""

    than: str
    by: float = 0.0
    metric: str = "success"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise RowError(f"relative goal metric={self.metric!r}; use one of {', '.join(METRICS)}")

    def text(self) -> str:
        gain = f" + {self.by * 100:.0f} points" if self.metric == "success" else f" + {self.by:g}"
        return f">= {self.than}{gain if self.by else ''}"


@dataclass(frozen=True)
class StepsGoal:
    """Sample efficiency: this row's validation curve reaches the success that row ``than`` has at
    ``at`` env steps within ``at / factor`` env steps. ``than`` is a row of this suite or
    ``<suite>/<row>`` of another (``rl/sac_push_dense``); curves are means over training seeds."""

    than: str
    at: int
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.at < 1 or self.factor <= 0:
            raise RowError(f"goals.fewer_steps: at={self.at} must be >= 1 and factor={self.factor} > 0")

    def text(self) -> str:
        return f"{self.than}'s success at {self.at:,} steps within {self.at / self.factor:,.0f}"


@dataclass(frozen=True)
class Choice:
    """An acting setting chosen on validation seeds after training, then scored once on the test
    seeds: e.g. ``{key: execute_horizon, values: [2, 4, 8]}`` evaluates ``agent.execute_horizon=v``
    for every v on ``episodes`` validation episodes and keeps the best success (ties: mean max
    coverage, then the first value listed)."""

    key: str
    values: tuple[Any, ...]
    episodes: int = 50

    def __post_init__(self) -> None:
        if not self.key or not self.values:
            raise RowError("choose needs key (an acting key such as execute_horizon) and a list of values")
        if self.episodes < 1:
            raise RowError(f"choose.episodes={self.episodes} must be >= 1")


@dataclass(frozen=True)
class Goals:
    """Thresholds checked against the mean over training seeds. None: no goal on that metric."""

    min_success: float | None = None
    min_coverage: float | None = None
    max_wall_minutes: float | None = None  # one training seed: demos, training, evaluation, videos
    max_latency_ms: float | None = None  # one full prediction at batch size 1 on one thread
    min_return: float | None = None  # mean evaluation return (RL rows without a success flag)
    # How many training seeds must each meet min_success / min_return ("4 of 5 seeds"); None: the mean.
    seeds_passing: int | None = None
    relative: tuple[RelativeGoal, ...] = ()
    fewer_steps: StepsGoal | None = None

    def __post_init__(self) -> None:
        for key in ("min_success", "min_coverage"):
            value = getattr(self, key)
            if value is not None and not 0.0 <= value <= 1.0:
                raise RowError(f"goals.{key}={value} is a fraction; write e.g. 0.95 for 95%")
        for key in ("max_wall_minutes", "max_latency_ms"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise RowError(f"goals.{key}={value} must be > 0 (or left out)")
        if self.seeds_passing is not None and self.seeds_passing < 1:
            raise RowError(f"goals.seeds_passing={self.seeds_passing} must be >= 1 (or left out)")

    def empty(self) -> bool:
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))

    def text(self) -> str:
        parts = []
        if self.min_success is not None:
            parts.append(f">= {self.min_success:.0%} success")
        if self.min_coverage is not None:
            parts.append(f"coverage >= {self.min_coverage:g}")
        if self.min_return is not None:
            parts.append(f"return >= {self.min_return:g}")
        if self.seeds_passing is not None and parts:
            parts[-1] += f" on >= {self.seeds_passing} seeds"
        parts.extend(goal.text() for goal in self.relative)
        if self.fewer_steps is not None:
            parts.append(self.fewer_steps.text())
        if self.max_wall_minutes is not None:
            parts.append(f"<= {self.max_wall_minutes:g} min")
        if self.max_latency_ms is not None:
            parts.append(f"<= {self.max_latency_ms:g} ms")
        return ", ".join(parts)


@dataclass(frozen=True)
class Row:
    key: str
    agent: str  # as shown in the table
    task: str
    data: str
    overrides: tuple[str, ...]
    seeds: int = 1
    goals: Goals = field(default_factory=Goals)
    goal_note: str = ""  # shown in the goal column beside (or instead of) the goals, e.g. "baseline"
    shaped_by: tuple[str, ...] = ()  # paths (files or folders) whose changes make a result stale
    notes: str = ""  # what was tried on the way to the recipe: shown under the table
    choose: Choice | None = None  # an acting setting chosen on validation seeds (see Choice)
    # Train in a kept run directory (<work>/<row>/seed_<S>) that a stopped benchmark resumes and later
    # rows may read (AIRL's recovered reward), instead of a temporary one: online rows (GAIL, AIRL).
    kept: bool = False

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum():
            raise RowError(f"row key {self.key!r}: use letters, digits and underscores")
        if self.seeds < 1:
            raise RowError(f"row {self.key}: seeds={self.seeds} must be >= 1")
        if not self.overrides:
            raise RowError(f"row {self.key}: overrides is empty; give the `workbench train` overrides")
        bad = [o for o in self.overrides if "=" not in o]
        if bad:
            raise RowError(f"row {self.key}: override {bad[0]!r} is not key=value")
        if any(o.split("=", 1)[0] in ("seed", "run_dir") for o in self.overrides):
            raise RowError(f"row {self.key}: leave seed= and run_dir= out; the benchmark sets them")

    def goal_text(self) -> str:
        text = self.goals.text()
        if self.goal_note:
            return f"{text} ({self.goal_note})" if text else self.goal_note
        return text or "reported"

    def preset_paths(self) -> tuple[str, ...]:
        """Config files named by the overrides (experiment=X, agent=Y): they shape the row too."""
        paths = []
        for item in self.overrides:
            key, _, value = item.partition("=")
            if key in ("experiment", "agent"):
                paths.append(f"configs/{key}/{value}.yaml")
        return tuple(paths)


@dataclass(frozen=True)
class Suite:
    """A benchmark file: the paths every row depends on, the intro text and the rows."""

    rows: tuple[Row, ...]
    shaped_by: tuple[str, ...] = ()
    intro: str = ""

    def __post_init__(self) -> None:
        keys = [row.key for row in self.rows]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise RowError(f"duplicate row keys {dupes}; each row needs its own key")
        for row in self.rows:
            for goal in row.goals.relative:
                if goal.than not in keys:
                    raise RowError(f"row {row.key}: relative goal names unknown row {goal.than!r}")
            steps = row.goals.fewer_steps
            if steps is not None and "/" not in steps.than and steps.than not in keys:
                raise RowError(f"row {row.key}: goals.fewer_steps names unknown row {steps.than!r}")

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise RowError(f"unknown benchmark row {key!r}; valid: {', '.join(self.row_keys())}")

    def row_keys(self) -> list[str]:
        return [row.key for row in self.rows]

    def paths_for(self, row: Row) -> list[str]:
        """Every path whose change since a result's commit makes that result stale."""
        return sorted({*self.shaped_by, *row.shaped_by, *row.preset_paths()})


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(f"{where} must be a list of strings")
    return tuple(value)


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RowError(f"{where}: unknown keys {unknown}; valid: {', '.join(sorted(allowed))}")


def parse_goals(data: dict[str, Any] | None, where: str) -> Goals:
    data = dict(data or {})
    scalar = {"min_success", "min_coverage", "max_wall_minutes", "max_latency_ms", "min_return"}
    _only(data, {*scalar, "relative", "seeds_passing", "fewer_steps"}, f"{where}.goals")
    passing = data.pop("seeds_passing", None)
    steps = data.pop("fewer_steps", None)
    if steps is not None:
        if not isinstance(steps, dict):
            raise RowError(
                f"{where}.goals.fewer_steps must be a mapping like {{than: ROW, at: 50000, factor: 5}}"
            )
        _only(steps, {"than", "at", "factor"}, f"{where}.goals.fewer_steps")
        steps = StepsGoal(str(steps["than"]), int(steps["at"]), float(steps.get("factor", 1.0)))
    relative = []
    for i, item in enumerate(data.pop("relative", None) or []):
        if not isinstance(item, dict):
            raise RowError(f"{where}.goals.relative[{i}] must be a mapping like {{than: ROW, by: 0.15}}")
        _only(item, {"than", "by", "metric"}, f"{where}.goals.relative[{i}]")
        relative.append(RelativeGoal(**item))
    values = {k: None if v is None else float(v) for k, v in data.items()}
    return Goals(**values, relative=tuple(relative), seeds_passing=None if passing is None else int(passing),
                 fewer_steps=steps)  # fmt: skip


def parse_row(data: dict[str, Any]) -> Row:
    where = f"row {data.get('key', '?')}"
    allowed = {f.name for f in fields(Row)}
    _only(data, allowed, where)
    missing = sorted({"key", "agent", "task", "data", "overrides"} - set(data))
    if missing:
        raise RowError(f"{where}: missing keys {missing}")
    return Row(
        key=str(data["key"]),
        agent=str(data["agent"]),
        task=str(data["task"]),
        data=str(data["data"]),
        overrides=_strings(data["overrides"], f"{where}.overrides"),
        seeds=int(data.get("seeds", 1)),
        goals=parse_goals(data.get("goals"), where),
        goal_note=str(data.get("goal_note", "")),
        shaped_by=_strings(data.get("shaped_by"), f"{where}.shaped_by"),
        notes=" ".join(str(data.get("notes", "")).split()),
        choose=parse_choice(data.get("choose"), where),
        kept=bool(data.get("kept", False)),
    )


def parse_choice(data: Any, where: str) -> Choice | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RowError(f"{where}.choose must be a mapping like {{key: execute_horizon, values: [2, 4, 8]}}")
    _only(data, {"key", "values", "episodes"}, f"{where}.choose")
    values = data.get("values")
    if not isinstance(values, list):
        raise RowError(f"{where}.choose.values must be a list")
    return Choice(key=str(data.get("key", "")), values=tuple(values), episodes=int(data.get("episodes", 50)))


def parse_suite(data: dict[str, Any], source: str = "<data>") -> Suite:
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise RowError(f"{source}: expected a mapping with a `rows:` list")
    _only(data, {"rows", "shaped_by", "intro"}, source)
    return Suite(
        rows=tuple(parse_row(item) for item in data["rows"]),
        shaped_by=_strings(data.get("shaped_by"), f"{source}: shaped_by"),
        intro=str(data.get("intro", "")).strip(),
    )


def load_suite(path: Path) -> Suite:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RowError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    return parse_suite(data, str(path))
