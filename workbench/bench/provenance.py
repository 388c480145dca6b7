"""Where a stored result came from (commit, dirty tree) and whether the code has moved on since.

A result is *stale* when any path that shapes its row (``shaped_by`` in the row file: the agent
package, the envs, the trainer, the experiment preset...) differs between the commit it was measured
on and HEAD: ``git diff --name-only <commit> HEAD -- <paths>``. Only committed changes count, so a
colleague's uncommitted edits do not flag every row; a result measured on a dirty tree records which
of its paths were dirty, and the table says so.

A result that recorded the Python files its run imported (``loaded``: see
``workbench.provenance.loaded_sources``) is stale only for the changed files among them and the changed
files that are not Python (configs, assets): a shaping module the run never imported (another agent in
the same package, a network it does not build) cannot have shaped it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.provenance import git

STATUSES = ("current", "stale", "unknown")


def commit_before(repo: Path, when: datetime) -> str | None:
    """The last commit (on HEAD's history) made before ``when`` (naive datetimes are taken as UTC)."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + ("" if when.tzinfo else " +0000")
    out = git(repo, "rev-list", "-1", f"--before={stamp}", "HEAD")
    return (out.strip() or None) if out else None


@dataclass(frozen=True)
class Staleness:
    """``current``: no shaping path changed since the commit; ``stale``: ``changed`` lists them;
    ``unknown``: no commit recorded, or the commit is not in this repository (e.g. a shallow clone)."""

    status: str
    commit: str | None = None
    changed: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r}; use one of {', '.join(STATUSES)}")

    def text(self) -> str:
        short = (self.commit or "?")[:7]
        if self.status == "current":
            return short
        if self.status == "unknown":
            return f"{short} (unknown)"
        return f"{short} **stale**"


def staleness(repo: Path, commit: str | None, paths: list[str], loaded: list[str] | None = None) -> Staleness:
    """``loaded``: the Python files the measuring run imported (None: not recorded, every change counts)."""
    if not commit or git(repo, "cat-file", "-e", f"{commit}^{{commit}}") is None:
        return Staleness("unknown", commit)
    out = git(repo, "diff", "--name-only", commit, "HEAD", "--", *paths)
    if out is None:
        return Staleness("unknown", commit)
    changed = tuple(sorted(line for line in out.splitlines() if line.strip()))
    if loaded is not None:
        imported = set(loaded)
        changed = tuple(path for path in changed if not path.endswith(".py") or path in imported)
    return Staleness("stale" if changed else "current", commit, changed)


def entry_staleness(repo: Path, entry: dict[str, Any], paths: list[str]) -> Staleness:
    """A stored result's staleness: its ``commit`` and, where it recorded them, the files it ``loaded``."""
    return staleness(repo, entry.get("commit"), paths, entry.get("loaded"))
