"""One tiny imitation row end to end: the stored entry has provenance, config and every episode."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO
from workbench.bench.goals import check
from workbench.bench.imitation import run_row
from workbench.bench.render import render_store
from workbench.bench.rows import Goals, Row, Suite
from workbench.bench.store import FORMAT, ResultStore

SMOKE = ("experiment=smoke", "agent.steps=20", "demos.episodes=2", "eval.episodes=2", "eval.video=false")


def test_a_tiny_row_is_measured_stored_and_rendered(tmp_path: Path) -> None:
    row = Row("smoke", "bc (state)", "Push", "2 demos", SMOKE, seeds=1, goals=Goals(max_latency_ms=1000))
    suite = Suite(rows=(row,), shaped_by=("agents", "workbench/train"))
    entry = run_row(row, suite, REPO)
    assert entry["format"] == FORMAT and entry["row"] == "smoke"
    assert entry["commit"] and len(entry["commit"]) == 40 and isinstance(entry["dirty"], bool)
    assert entry["overrides"] == list(SMOKE)
    assert entry["config"]["agent"]["steps"] == 20 and "run_dir" not in entry["config"]
    (seed,) = entry["seeds"]
    assert seed["seed"] == 0 and 0.0 <= seed["success_rate"] <= 1.0
    assert seed["wall_minutes"] > 0 and seed["latency_ms"] > 0 and len(seed["config_sha256"]) == 64
    episodes = seed["per_episode"]
    assert len(episodes) == 2 and {"seed", "success", "return", "length"} <= set(episodes[0])
    assert check(row, entry, {}).status == "met"  # a 1 s latency budget
    entry.update(date="today", command="test", machine="test machine")
    store = ResultStore(tmp_path)
    store.save(entry)
    text = render_store(suite, store, REPO, "Smoke")
    assert f"commit {entry['commit'][:7]}" in text and "| bc (state) | Push | 2 demos |" in text


def test_a_row_trained_across_sessions_keeps_its_first_commit(tmp_path: Path) -> None:
    """Provenance of long rows: the stored commit is the first training session's, and a rerun that
    trains nothing (every seed finished earlier) leaves the stored entry as it was."""
    from workbench.bench.imitation import run_rows

    row = Row("long", "sac", "Push", "100k", ("experiment=smoke",), seeds=1, goals=Goals())
    suite = Suite(rows=(row,), shaped_by=())
    sessions = [{"commit": "a" * 40, "dirty": False, "date": "2026-11-29 10:00"},
                {"commit": "b" * 40, "dirty": False, "date": "2026-11-30 10:00"}]  # fmt: skip

    def runner(trained: bool) -> object:
        def run(
            overrides: list[str], seed: int, choice: object
        ) -> tuple[dict[str, object], dict[str, object], None]:
            record = {"seed": seed, "success_rate": 0.5, "trained_now": trained, "segments": sessions[::-1]}
            return record, {"seed": seed}, None

        return lambda key: run

    store = ResultStore(tmp_path)
    run_rows("rl", suite, store, None, "first", "m", runner(True))
    stored = store.load("long")
    assert stored is not None and stored["commit"] == "a" * 40 and stored["command"] == "first"
    run_rows("rl", suite, store, None, "again", "m", runner(False))
    assert store.load("long") == stored  # nothing trained: not re-stamped


def test_kept_rows_parse_and_the_seed_token_names_each_seeds_run() -> None:
    """A kept row (GAIL, AIRL) parses; ``{seed}`` in an override becomes the training seed, so a reward
    transfer row's seed S reads the AIRL row's seed S."""
    from workbench.bench.rows import parse_suite

    suite = parse_suite({"rows": [{"key": "t", "agent": "a", "task": "t", "data": "d", "kept": True,
                                   "overrides": ["adversarial.reward_from=runs/airl/seed_{seed}"],
                                   "seeds": 2}]})  # fmt: skip
    row = suite.row("t")
    assert row.kept
    seen: list[list[str]] = []

    def runner(
        overrides: list[str], seed: int, choice: object
    ) -> tuple[dict[str, object], dict[str, object], None]:
        seen.append(overrides)
        return {"seed": seed, "success_rate": 1.0}, {}, None

    run_row(row, suite, REPO, runner=runner)
    assert seen == [[f"adversarial.reward_from=runs/airl/seed_{s}"] for s in (0, 1)]
