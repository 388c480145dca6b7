"""Stored benchmark results: stale detection on a real git repository, rendering, migration."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from workbench.bench.imitation import per_episode
from workbench.bench.provenance import Staleness, staleness
from workbench.bench.render import render, render_store
from workbench.bench.rows import parse_suite
from workbench.bench.store import FORMAT, ResultStore, migrate_legacy
from workbench.provenance import REPO_ROOT, dirty_paths, head_commit, loaded_sources


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str, date: str = "2026-11-29T03:00:00+0000") -> str:
    git(repo, "add", "-A")
    env_date = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(
        ["git", "commit", "-q", "-m", message], cwd=repo, check=True, capture_output=True,
        env={**__import__("os").environ, **env_date},
    )  # fmt: skip
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "agents" / "imitation").mkdir(parents=True)
    (root / "configs" / "experiment").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "agents" / "imitation" / "bc.py").write_text("lr = 1e-3\n")
    (root / "configs" / "experiment" / "push_bc.yaml").write_text("steps: 100\n")
    (root / "docs" / "notes.md").write_text("hello\n")
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    commit_all(root, "first")
    return root


SUITE = parse_suite(
    {
        "shaped_by": ["agents/imitation"],
        "intro": "Test intro.",
        "rows": [
            {"key": "bc", "agent": "bc (state)", "task": "Push", "data": "4 demos",
             "overrides": ["experiment=push_bc"], "seeds": 3, "goals": {"min_success": 0.5},
             "notes": "What was tried."},
            {"key": "dagger", "agent": "dagger", "task": "Push", "data": "labels",
             "overrides": ["agent=bc"], "goals": {"relative": [{"than": "bc", "by": 0.15}]}},
            {"key": "rnn", "agent": "bc_rnn", "task": "PushT", "data": "4 demos",
             "overrides": ["agent=bc_rnn"]},
        ],
    }
)  # fmt: skip


def stored(commit: str | None, success: list[float], seed_plan: bool = True) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "row": "bc",
        "date": "2026-11-29 04:00",
        "machine": "test machine",
        "command": "workbench bench imitation rows=[bc]",
        "commit": commit,
        "dirty": False,
        "dirty_paths": [],
        "overrides": ["experiment=push_bc"],
        "seed_plan": seed_plan,
        "config": {"seed": 0},
        "seeds": [
            {"seed": i, "success_rate": s, "mean_max_coverage": None, "wall_minutes": 1.5,
             "samples_per_s": 1000.0, "latency_ms": 0.4, "config_sha256": "abc",
             "per_episode": [{"seed": 1000000, "success": True, "return": 1.0, "length": 30}]}
            for i, s in enumerate(success)
        ],
    }  # fmt: skip


def test_a_result_is_current_until_a_shaping_path_changes(repo: Path) -> None:
    measured = head_commit(repo)
    assert measured is not None
    paths = SUITE.paths_for(SUITE.row("bc"))
    assert paths == ["agents/imitation", "configs/experiment/push_bc.yaml"]
    assert staleness(repo, measured, paths).status == "current"
    # A change elsewhere (docs) leaves the row current.
    (repo / "docs" / "notes.md").write_text("more\n")
    commit_all(repo, "docs")
    assert staleness(repo, measured, paths).status == "current"
    # Uncommitted changes to a shaping path do not count until committed.
    (repo / "agents" / "imitation" / "bc.py").write_text("lr = 3e-4\n")
    assert staleness(repo, measured, paths).status == "current"
    assert dirty_paths(repo, paths) == ["agents/imitation/bc.py"]
    commit_all(repo, "agent")
    stale = staleness(repo, measured, paths)
    assert stale == Staleness("stale", measured, ("agents/imitation/bc.py",))
    assert "stale" in stale.text()
    # The experiment preset named by the row's overrides shapes it too.
    later = head_commit(repo)
    (repo / "configs" / "experiment" / "push_bc.yaml").write_text("steps: 200\n")
    commit_all(repo, "preset")
    assert staleness(repo, later, paths).changed == ("configs/experiment/push_bc.yaml",)


def test_only_the_python_files_a_run_imported_make_it_stale(repo: Path) -> None:
    measured = head_commit(repo)
    assert measured is not None
    paths = SUITE.paths_for(SUITE.row("bc"))
    # Another module of the same package, which the measured run never imported, changes: still current.
    (repo / "agents" / "imitation" / "diffusion.py").write_text("steps = 10\n")
    commit_all(repo, "another agent")
    loaded = ["agents/imitation/bc.py"]
    assert staleness(repo, measured, paths, loaded).status == "current"
    assert staleness(repo, measured, paths).changed == ("agents/imitation/diffusion.py",)  # not recorded
    # A module it imported changes: stale.
    (repo / "agents" / "imitation" / "bc.py").write_text("lr = 3e-4\n")
    commit_all(repo, "bc")
    assert staleness(repo, measured, paths, loaded).changed == ("agents/imitation/bc.py",)
    # Files that are not Python (presets, assets) count whether or not anything imported them.
    later = head_commit(repo)
    (repo / "configs" / "experiment" / "push_bc.yaml").write_text("steps: 300\n")
    commit_all(repo, "preset")
    assert staleness(repo, later, paths, loaded).changed == ("configs/experiment/push_bc.yaml",)


def test_loaded_sources_names_the_tracked_files_this_process_imported() -> None:
    import workbench.bench.provenance  # noqa: F401  (imported above as well)

    loaded = loaded_sources(REPO_ROOT)
    assert loaded is not None
    assert "workbench/provenance.py" in loaded and "workbench/bench/provenance.py" in loaded
    assert all(path.endswith(".py") and not path.startswith(".") for path in loaded)


def test_unknown_commits_are_not_called_current(repo: Path, tmp_path: Path) -> None:
    assert staleness(repo, None, ["agents"]).status == "unknown"
    assert staleness(repo, "0" * 40, ["agents"]).status == "unknown"
    assert staleness(tmp_path / "not_a_repo", "abc", ["agents"]).status == "unknown"


def test_render_from_stored_results(repo: Path, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    store.save(stored(head_commit(repo), [0.96, 0.98, 0.96]))
    dagger = stored(head_commit(repo), [0.5], seed_plan=False)
    dagger["row"] = "dagger"
    store.save(dagger)
    text = render_store(SUITE, store, repo, "Imitation")
    assert text.startswith("## Imitation\n\nTest intro.")
    assert "training seeds vary demonstrations and initialisation" in text
    lines = text.splitlines()
    bc_line = next(ln for ln in lines if ln.startswith("| bc (state) |"))
    assert "97% [94, 100]" in bc_line and "| yes |" in bc_line and "| 1.5 |" in bc_line
    assert "±" not in bc_line and "stale" not in bc_line
    dagger_line = next(ln for ln in lines if ln.startswith("| dagger |"))
    assert "**no**" in dagger_line and "vs bc" in dagger_line
    assert "| bc_rnn | PushT | 4 demos | reported | not run |" in text
    assert f"commit {head_commit(repo)[:7]}" in text  # type: ignore[index]
    assert "- bc: What was tried." in text
    # A commit touching the row's paths makes it stale in the table.
    (repo / "agents" / "imitation" / "bc.py").write_text("lr = 3e-4\n")
    commit_all(repo, "agent")
    text = render_store(SUITE, store, repo, "Imitation")
    bc_line = next(ln for ln in text.splitlines() if ln.startswith("| bc (state) |"))
    assert bc_line.endswith("**stale** |")
    assert "**Stale**: changed since: agents/imitation/bc.py" in text


def test_render_marks_seeds_measured_before_the_seed_plan() -> None:
    entry = stored("a" * 40, [0.9, 0.8, 0.7], seed_plan=False)
    text = render(SUITE, {"bc": entry}, {"bc": Staleness("current", "a" * 40)}, "T")
    bc_line = next(ln for ln in text.splitlines() if ln.startswith("| bc (state) |"))
    assert "80% [55, 100] †" in bc_line


def test_store_round_trip_and_format_check(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    path = store.save(stored("a" * 40, [0.5]))
    assert path == tmp_path / "store" / "bc.json"
    assert store.load("bc") == stored("a" * 40, [0.5])
    assert store.load("missing") is None
    path.write_text(json.dumps({"format": 1}))
    with pytest.raises(ValueError, match="re-run the row"):
        store.load("bc")


def test_legacy_results_migrate_with_the_commit_before_the_run(repo: Path, tmp_path: Path) -> None:
    first = head_commit(repo)
    (repo / "docs" / "notes.md").write_text("later\n")
    commit_all(repo, "after the run began", date="2026-11-29T03:50:00+0000")
    legacy = tmp_path / "imitation.json"
    old_seed = {"seed": 0, "success_rate": 0.9, "mean_max_coverage": 0.97, "expert_labels": None,
                "wall_minutes": 20.0, "samples_per_s": 900.0, "latency_ms": 15.0}  # fmt: skip
    legacy.write_text(
        json.dumps(
            {"bc": {"key": "bc", "overrides": ["experiment=push_bc"], "seeds": [old_seed],
                    "date": "2026-11-29 03:53", "command": "workbench bench imitation", "machine": "m"}}
        )
    )  # fmt: skip
    store = ResultStore(tmp_path / "imitation")
    assert migrate_legacy(legacy, store, repo) == ["bc"]
    entry = store.load("bc")
    assert entry is not None
    # The run began at 03:33 (03:53 less 20 minutes): the commit of 03:50 came after it.
    assert entry["commit"] == first
    assert entry["seed_plan"] is False and entry["dirty"] is None
    assert entry["seeds"][0]["success_rate"] == 0.9 and entry["seeds"][0]["per_episode"] is None
    assert migrate_legacy(legacy, store, repo) == []  # rows already migrated are kept


def test_per_episode_results_with_a_fallback_for_older_runs() -> None:
    new = {"per_episode": [{"seed": 7, "success": True, "return": 1.0, "length": 30, "max_coverage": 0.9,
                            "video": ["not", "scalar"]}]}  # fmt: skip
    kept = {"seed": 7, "success": True, "return": 1.0, "length": 30, "max_coverage": 0.9}
    assert per_episode(new) == [kept]
    old = {"seeds": [1, 2], "successes": [True, False]}
    assert per_episode(old) == [
        {"seed": 1, "success": True, "return": None, "length": None},
        {"seed": 2, "success": False, "return": None, "length": None},
    ]
    assert per_episode({"success_rate": 0.5}) is None
