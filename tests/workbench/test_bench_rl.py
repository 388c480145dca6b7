"""`workbench bench rl`: the per-seed goals, the stored learning curve, and seeds that resume or are
reused from their kept run directories (a long row across sessions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.workbench.test_bench_goals import entry, row
from workbench.bench import rl
from workbench.bench.goals import check
from workbench.bench.rows import RowError, load_suite, parse_suite


@pytest.mark.parametrize("where", [rl.RL, rl.MBRL], ids=lambda w: w.name)
def test_online_rows_parse_and_name_real_presets(where: rl.OnlineSuite) -> None:
    suite = load_suite(where.rows)
    for item in suite.rows:
        for path in item.preset_paths():
            assert (REPO / path).is_file(), (item.key, path)
        for path in suite.paths_for(item):
            assert (REPO / path).exists(), (item.key, path)
    header, rule = where.header()
    assert header.count("|") == rule.count("|") and ("plan ms" in header) == where.latency
    if where is rl.RL:
        assert "return >= 475 on >= 4 seeds" in suite.row("dqn_cartpole").goal_text()


def test_seeds_passing_counts_seeds_that_each_meet_the_goal() -> None:
    returns = [500.0, 480.0, 300.0, 476.0, 500.0]
    four = entry([0.0] * 5, mean_return=returns)
    assert check(row(min_return=475, seeds_passing=4), four, {}).status == "met"
    returns[1] = 470.0
    verdict = check(row(min_return=475, seeds_passing=4), entry([0.0] * 5, mean_return=returns), {})
    assert verdict.status == "missed" and "3 of 5 seeds" in verdict.text()
    # Without seeds_passing the mean decides.
    assert check(row(min_return=475), entry([0.0] * 5, mean_return=returns), {}).status == "missed"
    with pytest.raises(RowError, match="seeds_passing"):
        parse_suite({"rows": [{"key": "x", "agent": "a", "task": "t", "data": "d", "overrides": ["a=b"],
                               "goals": {"seeds_passing": 0}}]})  # fmt: skip


@pytest.mark.slow
def test_seeds_are_trained_resumed_and_reused(tmp_path: Path) -> None:
    overrides = ["agent=dqn", "env=wb/CartPole-v1", "agent.steps=600", "agent.learning_starts=100",
                 "trainer.eval_every=300", "trainer.checkpoint_every=300", "eval.episodes=2",
                 "eval.validation_episodes=2", "eval.video=false"]  # fmt: skip
    run_seed = rl.seed_runner(tmp_path, "tiny")
    record, config, _ = run_seed(overrides, 0, None)
    run_dir = tmp_path / "tiny" / "seed_0"
    assert record["env_steps"] == 600 and record["wall_minutes"] > 0
    assert [point[0] for point in record["curve"]] == [300, 600]
    assert config["agent"]["name"] == "dqn" and "run_dir" not in config

    # Finished: reused as it is, nothing trained again.
    mtime = (run_dir / "policy.pt").stat().st_mtime
    again, _, _ = run_seed(overrides, 0, None)
    assert again["success_rate"] == record["success_rate"]
    assert (run_dir / "policy.pt").stat().st_mtime == mtime

    # Unfinished (as after a killed session): resumed from its checkpoint, wall and CPU time added up.
    (run_dir / "eval" / "results.json").unlink()
    wall, cpu = rl.wall_of(run_dir)
    assert wall is not None and cpu is not None and cpu > 0 and record["cpu_minutes"] == cpu
    resumed, _, _ = run_seed(overrides, 0, None)
    assert resumed["mean_return"] == record["mean_return"]
    wall_after, cpu_after = rl.wall_of(run_dir)
    assert wall_after is not None and wall_after > wall and cpu_after is not None and cpu_after > cpu


def test_planning_rows_build_every_agent_and_render() -> None:
    """The latency benchmark's rows name real configs; a tiny run times every agent and checks goals."""
    from workbench.bench import planning

    result = planning.run(repeats=1, calls=1)
    assert set(result["results"]) == {"pets_default", "pets_push", "tdmpc_default", "tdmpc_pixels"}
    assert all(item["median_ms"] > 0 for item in result["results"].values())
    table = planning.render(result, "workbench bench planning", "now", "abc")
    assert "<= 50 ms" in table and "<= 20 ms" in table
