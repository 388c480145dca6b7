"""Where a result came from: the git commit (and whether the tree was dirty), a hash of the resolved
config, and the versions of the libraries that shape a result. Every results.json and benchmark
entry carries these, so a published number can be traced to the code and settings that made it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# Libraries whose version can change a number: physics, networks, env API, RL algorithms.
RESULT_LIBRARIES = ("torch", "numpy", "mujoco", "pybullet", "gymnasium", "stable-baselines3", "diffusers")


def git_commit(root: Path = REPO_ROOT) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` (None outside a git checkout)."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if sha.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return {"commit": sha.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


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
