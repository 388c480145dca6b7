"""The seed plan: disjoint ranges checked when a config is built, training seeds moving every stream."""

from __future__ import annotations

import pytest

from workbench.config import SeedPlan, SeedRange, compose
from workbench.config.seeds import TRAIN_SEED_STRIDE
from workbench.errors import ConfigError


def test_overlapping_ranges_are_a_config_error_naming_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"seeds\.demos .* overlaps seeds\.rollouts"):
        compose("train", ["seeds.demos.size=600000"])
    with pytest.raises(ConfigError, match=r"seeds\.test .* overlaps seeds\.validation"):
        SeedPlan(test=SeedRange(1_000_000, 600_000))


def test_training_seed_moves_demos_and_rollouts_not_evaluation() -> None:
    cfg = compose("train", ["seed=2", "dagger.rounds=2"])
    assert cfg.demos.seed == 2 * TRAIN_SEED_STRIDE
    assert cfg.dagger.seed == cfg.seeds.rollouts.start + 2 * TRAIN_SEED_STRIDE
    assert cfg.eval.seed == cfg.seeds.test.start and cfg.eval.split == "test"
    validation = cfg.eval.for_validation(cfg.seeds)
    assert validation.seed == cfg.seeds.validation.start and not validation.video


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("demos.seed=1000000", r"demos\.seed=1000000 .* seeds\.demos .*inside seeds\.test"),
        ("eval.seed=5", r"eval\.seed=5 .* seeds\.test"),
        ("eval.split=train", r"eval\.split='train' is not one of"),
    ],
)
def test_streams_outside_their_range_are_refused(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        compose("train", [override])


def test_which_names_the_range_of_a_seed() -> None:
    plan = SeedPlan()
    assert [plan.which(s) for s in (0, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_100_000)] == [
        "demos", "rollouts", "test", "validation", "sysid", None,
    ]  # fmt: skip


def test_eval_split_picks_the_range_and_an_explicit_seed_names_its_range() -> None:
    plan = SeedPlan()
    assert compose("eval", ["policy=expert", "split=validation"]).settings(plan).seed == plan.validation.start
    assert compose("eval", ["policy=expert"]).settings(plan).seed == plan.test.start
    explicit = compose("eval", ["policy=expert", "seed=12"]).settings(plan)
    assert (explicit.seed, explicit.split) == (12, "demos")
