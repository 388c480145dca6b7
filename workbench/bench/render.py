"""The markdown table of a benchmark suite, made only from the row file and the stored results."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from workbench.bench import goals
from workbench.bench.provenance import Staleness, entry_staleness
from workbench.bench.rows import Row, Suite
from workbench.bench.stats import format_percent_ci, format_value_ci, mean_ci
from workbench.bench.store import ResultStore, seed_values

HEADER = "| agent | task | data | goal | success [95% CI] | coverage | met | wall min | samples/s | latency ms | measured at |"  # noqa: E501
RULE = "|---|---|---|---|---|---|---|---|---|---|---|"
SHOWN_CHANGES = 4


def _cells(row: Row, entry: dict[str, Any], verdict: goals.Verdict, stale: Staleness) -> str:
    success = seed_values(entry, "success")
    coverage = seed_values(entry, "coverage")
    wall = seed_values(entry, "wall_minutes")
    sps = seed_values(entry, "samples_per_s")
    latency = seed_values(entry, "latency_ms")
    marker = "" if entry.get("seed_plan") or len(success) < 2 else " †"
    cells = [
        row.agent,
        row.task,
        row.data,
        row.goal_text(),
        (format_percent_ci(mean_ci(success)) + marker) if success else "",
        format_value_ci(mean_ci(coverage)) if coverage else "",
        verdict.text(),
        f"{statistics.fmean(wall):.1f}" if wall else "",
        f"{statistics.median(sps):.0f}" if sps else "",
        f"{statistics.fmean(latency):.1f}" if latency else "",
        stale.text(),
    ]
    return "| " + " | ".join(cells) + " |"


def _provenance_line(row: Row, entry: dict[str, Any], stale: Staleness) -> str:
    seeds = entry.get("seeds", [])
    commit = (entry.get("commit") or "unknown commit")[:7]
    dirty = entry.get("dirty_paths")
    if dirty:
        commit += f" + uncommitted changes to {', '.join(dirty[:SHOWN_CHANGES])}"
    elif entry.get("dirty") is None:
        commit += " (tree state not recorded)"
    train = " ".join(entry.get("overrides", []))
    line = (
        f"- {row.key} ({entry.get('date')}, {entry.get('machine', '?')}, commit {commit}, "
        f"{len(seeds)} seed(s)): `{entry.get('command')}` = `workbench train {train} seed=S`"
    )
    if entry.get("migrated_from"):
        line += f". Migrated from {entry['migrated_from']}: commit = the last one before the run began"
    if stale.status == "stale":
        shown = ", ".join(stale.changed[:SHOWN_CHANGES])
        more = f" and {len(stale.changed) - SHOWN_CHANGES} more" if len(stale.changed) > SHOWN_CHANGES else ""
        line += f". **Stale**: changed since: {shown}{more}"
    return line


def render(suite: Suite, entries: dict[str, dict[str, Any]], stale: dict[str, Staleness], title: str) -> str:
    """The suite's section: table, provenance of every row measured, and the notes."""
    lines = [f"## {title}", ""]
    if suite.intro:
        lines += [suite.intro, ""]
    lines += [
        "Success is the mean over training seeds with its 95% confidence interval (t-distribution",
        "over the seeds) in brackets; training seeds vary demonstrations and initialisation (`seed=S`",
        "also selects the demo seeds). † measured before that: those seeds varied initialisation only.",
        "Met checks every goal (success, coverage, wall time, latency, relative goals) on the means over",
        "training seeds. Measured at: the commit; **stale** when a path that shapes the row changed",
        "since (listed under Commands): re-run it with `workbench bench imitation rows=[ROW]`.",
        "",
        HEADER,
        RULE,
    ]
    commands = []
    for row in suite.rows:
        entry = entries.get(row.key)
        if entry is None:
            lines.append(
                f"| {row.agent} | {row.task} | {row.data} | {row.goal_text()} | not run |" + " |" * 6
            )
            continue
        verdict = goals.check(row, entry, entries)
        row_stale = stale.get(row.key, Staleness("unknown", entry.get("commit")))
        lines.append(_cells(row, entry, verdict, row_stale))
        commands.append(_provenance_line(row, entry, row_stale))
    notes = [f"- {row.key}: {row.notes}" for row in suite.rows if row.notes]
    return "\n".join([*lines, "", "Commands:", "", *commands, "", "How the recipes were chosen:", "", *notes])


def render_store(suite: Suite, store: ResultStore, repo: Path, title: str) -> str:
    """Render with staleness checked against ``repo``'s HEAD."""
    entries = store.load_all(suite.row_keys())
    stale = {
        key: entry_staleness(repo, entry, suite.paths_for(suite.row(key)))
        for key, entry in entries.items()
    }
    return render(suite, entries, stale, title)
