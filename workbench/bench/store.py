"""Stored benchmark results: one small JSON file per row, ``<root>/<row>.json``.

An entry records what was measured and on what::

    {"format": 2, "row": KEY, "date": ..., "machine": ..., "command": ...,
     "commit": SHA, "dirty": bool | null, "dirty_paths": [...],   # whole tree; the row's own paths
     "overrides": [...], "seed_plan": bool,                       # training seeds vary demos too?
     "versions": {...},                                           # libraries, from results.json
     "config": {...},                                             # seed 0's resolved config
     "seeds": [{"seed", "success_rate", "mean_max_coverage", "wall_minutes", "samples_per_s",
                "latency_ms", "config_sha256", "per_episode": [{seed, success, return, ...}] | null}]}

One file per row keeps every diff small and lets rows be measured one at a time by different people.
The first layout, a single ``imitation.json`` with every row, is migrated by ``migrate_legacy``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from workbench.bench.provenance import commit_before
from workbench.io import atomic_write_json

FORMAT = 2
# Per-seed metric columns: the benchmark metric name -> the key stored per training seed.
SEED_KEYS = {
    "success": "success_rate",
    "coverage": "mean_max_coverage",
    "wall_minutes": "wall_minutes",
    "latency_ms": "latency_ms",
    "samples_per_s": "samples_per_s",
    "return": "mean_return",
    "env_steps": "env_steps",
}


def seed_values(entry: dict[str, Any], metric: str) -> list[float]:
    """One value per training seed (seeds that did not record the metric are left out)."""
    key = SEED_KEYS[metric]
    return [float(s[key]) for s in entry.get("seeds", []) if s.get(key) is not None]


def seed_floats(entry: dict[str, Any], key: str) -> list[float]:
    """``key`` of every training seed of ``entry`` that recorded it (suites with their own seed keys)."""
    return [float(s[key]) for s in entry.get("seeds", []) if s.get(key) is not None]


def measure_rows(
    name: str,
    selected: list[str] | None,
    row_keys: list[str],
    check_key: Callable[[str], Any],
    measure: Callable[[str], dict[str, Any]],
    store: ResultStore,
    command: str,
    machine: str,
) -> None:
    """Measure the ``selected`` rows (all when None; each checked by ``check_key`` before anything
    runs) one at a time, storing each row's entry as soon as it is done with the date, command and
    machine, so a long benchmark keeps what it has measured."""
    for key in selected or []:
        check_key(key)  # fails with the valid keys before anything runs
    for key in selected or row_keys:
        print(f"bench {name}: {key} ...", flush=True)
        entry = measure(key)
        entry.update(date=f"{datetime.now():%Y-%m-%d %H:%M}", command=command, machine=machine)
        store.save(entry)


def entry_header(
    key: str,
    commit: str | None,
    dirty_tree: list[str] | None,
    dirty_row: list[str] | None,
    overrides: list[str],
) -> dict[str, Any]:
    """The provenance every stored row entry starts with: the commit it ran at, whether the tree had
    uncommitted changes, the row's own uncommitted paths (edits elsewhere in a shared tree do not
    shape the result) and the overrides it trained with."""
    return {
        "format": FORMAT,
        "row": key,
        "commit": commit,
        "dirty": None if dirty_tree is None else bool(dirty_tree),
        "dirty_paths": dirty_row,
        "overrides": overrides,
    }


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            entry: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} is not valid JSON ({exc}); restore it from git or re-run the row"
            ) from exc
        if entry.get("format") != FORMAT:
            raise ValueError(f"{path} has format {entry.get('format')!r}, expected {FORMAT}; re-run the row")
        return entry

    def load_all(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        entries = {key: self.load(key) for key in keys}
        return {key: entry for key, entry in entries.items() if entry is not None}

    def save(self, entry: dict[str, Any]) -> Path:
        path = self.path(entry["row"])
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, entry)
        return path


def upgrade_legacy_entry(key: str, old: dict[str, Any], repo: Path, source: str) -> dict[str, Any]:
    """A first-layout entry in the current format. It recorded no commit: the commit is the last one
    before the measurement began (the entry's date less the seeds' wall time, run one after another),
    and whether the tree was dirty is unknown. Per-episode results were not kept."""
    end = datetime.strptime(old["date"], "%Y-%m-%d %H:%M")
    seeds = old.get("seeds", [])
    start = end - timedelta(minutes=sum(float(s.get("wall_minutes") or 0.0) for s in seeds))
    return {
        "format": FORMAT,
        "row": key,
        "date": old["date"],
        "machine": old.get("machine"),
        "command": old.get("command"),
        "commit": commit_before(repo, start),
        "dirty": None,
        "dirty_paths": None,
        "overrides": list(old.get("overrides", [])),
        # Measured before `seed=S` chose the demonstrations too: seeds varied initialisation only.
        "seed_plan": False,
        "config": None,
        "migrated_from": source,
        "seeds": [{**s, "config_sha256": None, "per_episode": None} for s in seeds],
    }


def migrate_legacy(legacy: Path, store: ResultStore, repo: Path) -> list[str]:
    """Move rows of a first-layout ``imitation.json`` into ``store`` (rows already there are kept)."""
    if not legacy.is_file():
        return []
    migrated = []
    for key, old in json.loads(legacy.read_text()).items():
        if store.load(key) is None:
            store.save(upgrade_legacy_entry(key, old, repo, legacy.name))
            migrated.append(key)
    return migrated


def save_result(path: Path, result: dict[str, Any], command: str, machine: str) -> None:
    """A one-file benchmark result (``bench planning|sampler|appearance``) with its command, machine,
    date and provenance (commit, dirty paths, versions), written atomically."""
    from workbench.provenance import provenance

    stamp = f"{datetime.now():%Y-%m-%d %H:%M}"
    atomic_write_json(path, {"command": command, "machine": machine, "date": stamp, **provenance(), **result})


def load_result(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def curve(run_dir: Path) -> list[list[float]]:
    """``[step, success, return]`` of every periodic (validation) evaluation of a run, in step order:
    env steps for an online learner, gradient steps for an offline one (imitation)."""
    points = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        # The final test evaluation carries first_seed; periodic validation results do not.
        if "eval/success_rate" in record and "eval/first_seed" not in record:
            points.append([record["step"], record["eval/success_rate"], record.get("eval/mean_return")])
    return points
