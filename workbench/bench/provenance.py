"""Where a stored result came from (commit, dirty tree) and whether the code has moved on since.

A result is *stale* when any path that shapes its row (``shaped_by`` in the row file: the agent
package, the envs, the trainer, the experiment preset...) differs between the commit it was measured
on and HEAD: ``git diff --name-only <commit> HEAD -- <paths>``. Only committed changes count, so a
colleague's uncommitted edits do not flag every row; a result measured on a dirty tree records which
of its paths were dirty, and the table says so.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STATUSES = ("current", "stale", "unknown")


def _git(repo: Path, *args: str) -> str | None:
    """stdout of ``git args`` in ``repo``, or None where git or the repository is missing."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def head_commit(repo: Path) -> str | None:
    out = _git(repo, "rev-parse", "HEAD")
    return out.strip() if out else None


def dirty_paths(repo: Path, paths: list[str] | None = None) -> list[str] | None:
    """Tracked or untracked files with uncommitted changes (under ``paths`` if given); None: no git."""
    out = _git(repo, "status", "--porcelain", "--", *(paths or []))
    if out is None:
        return None
    # Porcelain lines are "XY path" or "XY old -> new"; the new name is the one that matters.
    return sorted(line[3:].split(" -> ")[-1] for line in out.splitlines() if line.strip())


def commit_before(repo: Path, when: datetime) -> str | None:
    """The last commit (on HEAD's history) made before ``when`` (naive datetimes are taken as UTC)."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + ("" if when.tzinfo else " +0000")
    out = _git(repo, "rev-list", "-1", f"--before={stamp}", "HEAD")
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


def staleness(repo: Path, commit: str | None, paths: list[str]) -> Staleness:
    if not commit or _git(repo, "cat-file", "-e", f"{commit}^{{commit}}") is None:
        return Staleness("unknown", commit)
    out = _git(repo, "diff", "--name-only", commit, "HEAD", "--", *paths)
    if out is None:
        return Staleness("unknown", commit)
    changed = tuple(sorted(line for line in out.splitlines() if line.strip()))
    return Staleness("stale" if changed else "current", commit, changed)
