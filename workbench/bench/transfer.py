"""``workbench bench transfer``: train in one simulator, deploy in the other
(``configs/bench/transfer.yaml``).

Each row trains a policy in its training simulator (with or without a sim-to-real tool: domain
randomisation, sensor models, parameters fitted by ``workbench sysid``), then evaluates the same
policy on the same held-out test seeds in both simulators, nominal (``workbench eval run=RUN
sim=<sim> nominal=true``): the training simulator is the reference, the other one the deployment
target. The goal is a ratio: target success / reference success. A row with ``sysid`` first fits the
training simulator to the target (``workbench sysid``; its file is kept beside the run and loaded by
the ``{sysid}`` token of the overrides). One short video of the first test episode in each simulator
is copied to ``docs/img/sim2real/`` (the same policy, the same layout, both engines).

Training runs live in ``runs/bench/transfer/<row>/seed_<S>`` (kept: a stopped benchmark resumes).
"""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.bench.imitation import REPO, _resolved_config, config_sha256, per_episode
from workbench.bench.provenance import entry_staleness
from workbench.bench.rows import RowError
from workbench.bench.stats import format_percent_ci, mean_ci
from workbench.bench.store import ResultStore, entry_header, measure_rows, seed_floats
from workbench.provenance import dirty_paths, head_commit, loaded_sources

ROWS_FILE = REPO / "configs" / "bench" / "transfer.yaml"
STORE = REPO / "docs" / "bench" / "transfer"
WORK = Path("runs/bench/transfer")
VIDEOS = REPO / "docs" / "img" / "sim2real"
TITLE = "Sim-to-real: cross-simulator transfer (`workbench bench transfer`)"
SYSID_TOKEN = "{sysid}"
SIMS = ("mujoco", "pybullet")


@dataclass(frozen=True)
class TransferRow:
    key: str
    policy: str  # as shown in the table
    task: str
    tools: str  # the sim-to-real tools the training used, as shown
    overrides: tuple[str, ...]
    train_sim: str = "mujoco"
    sysid: tuple[str, ...] = ()  # `workbench sysid` arguments (the env is the row's), or none
    seeds: int = 1
    episodes: int = 50  # test episodes per simulator
    min_ratio: float | None = None  # target success / reference success
    goal_note: str = ""
    notes: str = ""

    @property
    def target_sim(self) -> str:
        return next(s for s in SIMS if s != self.train_sim)


@dataclass(frozen=True)
class TransferSuite:
    rows: tuple[TransferRow, ...]
    shaped_by: tuple[str, ...] = ()
    intro: str = ""
    row_keys: list[str] = field(default_factory=list)

    def row(self, key: str) -> TransferRow:
        for row in self.rows:
            if row.key == key:
                return row
        raise RowError(f"unknown transfer row {key!r}; valid rows: {', '.join(r.key for r in self.rows)}")


def load_suite(path: Path = ROWS_FILE) -> TransferSuite:
    data = yaml.safe_load(path.read_text())
    rows = []
    for item in data["rows"]:
        unknown = set(item) - {f for f in TransferRow.__dataclass_fields__}
        if unknown:
            raise RowError(f"{path}: row {item.get('key')!r} has unknown keys {sorted(unknown)}")
        item = {**item, "overrides": tuple(item["overrides"]), "sysid": tuple(item.get("sysid", ()))}
        row = TransferRow(**item)
        if row.train_sim not in SIMS:
            raise RowError(f"{path}: row {row.key}: train_sim={row.train_sim!r} is not one of {list(SIMS)}")
        rows.append(row)
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise RowError(f"{path}: duplicate row keys")
    return TransferSuite(tuple(rows), tuple(data.get("shaped_by", ())), data.get("intro", ""), keys)


def _evaluate(
    run_dir: Path, sim: str, first_seed: int, episodes: int, video_to: Path | None
) -> dict[str, Any]:
    """The run's policy on ``episodes`` test seeds from ``first_seed`` in ``sim``, nominal."""
    from workbench.commands.eval import run as evaluate
    from workbench.config import compose

    out = run_dir / "eval" / f"transfer_{sim}_s{first_seed}_n{episodes}"
    if (out / "results.json").is_file():  # evaluated earlier (a resumed benchmark): the same record
        return dict(json.loads((out / "results.json").read_text()))
    video = ["video_episodes=1", "video_width=192", "video_height=192"] if video_to else ["video=false"]
    args = [f"run={run_dir}", f"sim={sim}", "nominal=true", f"seed={first_seed}", f"episodes={episodes}"]
    results = evaluate(compose("eval", [*args, *video, f"out={out}"]))
    if video_to is not None:
        clips = sorted((out / "videos").glob("*.mp4"))
        if clips:
            video_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clips[0], video_to)
    return (
        dict(json.loads((out / "results.json").read_text())) if (out / "results.json").is_file() else results
    )


def _sysid(row: TransferRow, run_root: Path) -> Path | None:
    """Fit the training simulator to the target (once; the file is kept beside the row's runs)."""
    if not row.sysid:
        return None
    from workbench.commands.sysid import run as sysid
    from workbench.config import compose

    out = run_root / "sysid.json"
    if not out.is_file():
        env = next(o.split("=", 1)[1] for o in row.overrides if o.startswith("env="))
        run_root.mkdir(parents=True, exist_ok=True)
        sysid(compose("sysid", [f"source={env}", *row.sysid, f"out={out}"]))
    return out


def run_row(
    row: TransferRow, suite: TransferSuite, work: Path, videos: Path | None = VIDEOS
) -> dict[str, Any]:
    from workbench.bench.rl import train_or_resume, wall_of
    from workbench.config import load_train_config

    # the code the row runs with: taken before it trains (a commit made meanwhile did not shape it)
    commit, dirty_tree, dirty_row = (
        head_commit(REPO),
        dirty_paths(REPO),
        dirty_paths(REPO, list(suite.shaped_by)),
    )
    root = work / row.key
    fitted = _sysid(row, root)
    overrides = [o.replace(SYSID_TOKEN, str(fitted)) for o in row.overrides]
    seeds, config = [], None
    for seed in range(row.seeds):
        run_dir = root / f"seed_{seed}"
        train_or_resume(overrides, seed, run_dir)
        first = load_train_config(run_dir / "config.yaml").seeds.test.start
        results = {}
        for sim in SIMS:
            video = videos / f"{row.key}_{sim}.mp4" if seed == 0 and videos is not None else None
            results[sim] = _evaluate(run_dir, sim, first, row.episodes, video)
        source, target = results[row.train_sim]["success_rate"], results[row.target_sim]["success_rate"]
        wall, cpu = wall_of(run_dir)
        resolved = _resolved_config(run_dir)
        config = config or resolved
        seeds.append({
            "seed": seed, "source_success": source, "target_success": target,
            "ratio": target / source if source > 0 else None, "wall_minutes": wall, "cpu_minutes": cpu,
            "config_sha256": config_sha256(resolved),
            "per_episode": {sim: per_episode(results[sim]) for sim in SIMS},
        })  # fmt: skip
    return {
        **entry_header(row.key, commit, dirty_tree, dirty_row, overrides),
        "sysid": json.loads(fitted.read_text())["params"] if fitted is not None else None,
        "config": config,
        "loaded": loaded_sources(REPO),  # the Python files the training imported (staleness)
        "seeds": seeds,
    }


def run(selected: list[str] | None, store_path: Path, work: Path, command: str, machine: str) -> str:
    suite = load_suite()
    store = ResultStore(store_path)
    measure_rows(
        "transfer", selected, suite.row_keys, suite.row, lambda key: run_row(suite.row(key), suite, work),
        store, command, machine,
    )  # fmt: skip
    return render(suite, store)


def render(suite: TransferSuite | None = None, store: ResultStore | None = None) -> str:
    suite = suite or load_suite()
    store = store or ResultStore(STORE)
    entries = store.load_all(suite.row_keys)
    cols = ["policy", "task", "trained in", "tools", "goal", "success, trained-in sim",
            "success, other sim", "ratio", "met", "wall min", "measured at"]  # fmt: skip
    lines = [f"## {TITLE}", "", suite.intro, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    commands, notes = [], []
    for row in suite.rows:
        goal = f"ratio >= {row.min_ratio:g}" if row.min_ratio is not None else (row.goal_note or "reported")
        head = [row.policy, row.task, row.train_sim, row.tools, goal]
        entry = entries.get(row.key)
        if row.notes:
            notes.append(f"- {row.key}: {row.notes}")
        if entry is None:
            lines.append("| " + " | ".join([*head, "not run"]) + " |" + " |" * 5)
            continue
        source, target, ratio = (
            seed_floats(entry, "source_success"),
            seed_floats(entry, "target_success"),
            seed_floats(entry, "ratio"),
        )
        wall = seed_floats(entry, "wall_minutes")
        mean_ratio = statistics.fmean(ratio) if ratio else None
        met = (
            ""
            if row.min_ratio is None or mean_ratio is None
            else (
                "yes"
                if mean_ratio >= row.min_ratio - 1e-12
                else f"**no**: {mean_ratio:.2f} < {row.min_ratio:g}"
            )
        )
        stale = entry_staleness(REPO, entry, list(suite.shaped_by))
        lines.append("| " + " | ".join([
            *head, format_percent_ci(mean_ci(source)), format_percent_ci(mean_ci(target)),
            f"{mean_ratio:.2f}" if mean_ratio is not None else "", met,
            f"{statistics.fmean(wall):.1f}" if wall else "", stale.text(),
        ]) + " |")  # fmt: skip
        fitted = entry.get("sysid")
        fit = f"; sysid fitted {', '.join(f'{k}={v:.3g}' for k, v in fitted.items())}" if fitted else ""
        commit = (entry.get("commit") or "?")[:7]
        train = " ".join(entry.get("overrides", []))
        commands.append(
            f"- {row.key} ({entry.get('date')}, {entry.get('machine')}, commit {commit}, "
            f"{len(entry.get('seeds', []))} seed(s)): `{entry.get('command')}` = `workbench train {train} "
            f"seed=S`, then `workbench eval run=RUN sim=mujoco|pybullet nominal=true "
            f"episodes={row.episodes}` on the test seeds{fit}; videos docs/img/sim2real/{row.key}_*.mp4"
        )
    return "\n".join([*lines, "", "Commands:", "", *commands, "", "Notes:", "", *notes])
