"""Where a result came from: the git commit (and whether the tree was dirty), a hash of the resolved
config, and the versions of the libraries that shape a result. Every results.json and benchmark
entry carries these, so a published number can be traced to the code and settings that made it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Libraries whose version can change a number: physics, networks, env API, RL algorithms.
RESULT_LIBRARIES = ("torch", "numpy", "mujoco", "pybullet", "gymnasium", "stable-baselines3", "diffusers")


def git(repo: Path, *args: str) -> str | None:
    """stdout of ``git args`` in ``repo``, or None where git or the repository is missing."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def head_commit(repo: Path) -> str | None:
    out = git(repo, "rev-parse", "HEAD")
    return out.strip() if out else None


def dirty_paths(repo: Path, paths: list[str] | None = None) -> list[str] | None:
    """Tracked or untracked files with uncommitted changes (under ``paths`` if given); None: no git."""
    out = git(repo, "status", "--porcelain", "--", *(paths or []))
    if out is None:
        return None
    # Porcelain lines are "XY path" or "XY old -> new"; the new name is the one that matters.
    return sorted(line[3:].split(" -> ")[-1] for line in out.splitlines() if line.strip())


def loaded_sources(repo: Path = REPO_ROOT) -> list[str] | None:
    """The repository's tracked Python files this process has imported (repo-relative, sorted); None
    where git is missing or none was imported from ``repo`` (e.g. a non-editable install).

    A benchmark records them when its training is done: a file the run never imported cannot have
    shaped its result, so a later change to it does not make the result stale."""
    tracked = git(repo, "ls-files", "*.py")
    if tracked is None:
        return None
    root = repo.resolve()
    files = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not name:
            continue
        try:
            files.add(Path(name).resolve().relative_to(root).as_posix())
        except ValueError:  # a library's module, outside the repository
            continue
    loaded = sorted(files & set(tracked.split()))
    return loaded or None


def git_commit(root: Path = REPO_ROOT) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` (None outside a git checkout); untracked
    files do not make a tree dirty."""
    commit = head_commit(root)
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git(root, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status.strip())}


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in RESULT_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def config_hash(config_yaml: str) -> str:
    """sha256 of the resolved config's YAML (first 16 hex digits): equal configs, equal hash."""
    return hashlib.sha256(config_yaml.encode()).hexdigest()[:16]


def provenance(config_yaml: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {**git_commit(), "versions": library_versions()}
    if config_yaml is not None:
        record["config_hash"] = config_hash(config_yaml)
    return record
