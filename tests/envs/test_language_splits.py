"""Tabletop's instruction splits: disjoint, each held-out factor alone, and ``all`` unchanged."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.tasks import get_task
from envs.tasks.language_splits import HELD_OUT_OBJECTS, HELD_OUT_VERB_SHAPES, SPLITS, Composition, split_of
from envs.tasks.tabletop import OBJECT_NAMES, TEMPLATES, VERBS


@functools.cache
def _compositions(split: str, n: int = 150) -> list[Composition]:
    task = get_task("tabletop").with_instruction_split(split)
    out = []
    for seed in range(n):
        verb, template, src, dst = (int(g) for g in task.sample_layout(np.random.default_rng(seed)).goal)
        out.append(Composition(VERBS[verb], OBJECT_NAMES[src], OBJECT_NAMES[dst] if verb == 1 else None,
                               paraphrase=template >= len(TEMPLATES[VERBS[verb]])))  # fmt: skip
    return out


@pytest.mark.parametrize("split", [s for s in SPLITS if s != "all"])
def test_every_episode_of_a_split_belongs_to_it_alone(split: str) -> None:
    drawn = _compositions(split)
    assert {split_of(c) for c in drawn} == {split}  # exactly one held-out factor (or none for seen)
    others = set().union(*(_compositions(s) for s in SPLITS if s not in ("all", split)))
    assert not set(drawn) & others  # no composition is in two splits


def test_seen_keeps_every_colour_shape_and_verb_and_never_names_a_held_out_object() -> None:
    seen = _compositions("seen", 300)
    colours = {c.src.split("_")[0] for c in seen}
    shapes = {c.src.split("_")[1] for c in seen}
    assert colours == {n.split("_")[0] for n in OBJECT_NAMES}
    assert shapes == {n.split("_")[1] for n in OBJECT_NAMES}
    assert {c.verb for c in seen} == set(VERBS)
    assert not {c.src for c in seen} & set(HELD_OUT_OBJECTS)
    assert not {c.dst_object for c in seen} & set(HELD_OUT_OBJECTS)
    assert not {(c.verb, c.src.split("_")[1]) for c in seen} & set(HELD_OUT_VERB_SHAPES)
    assert not any(c.paraphrase for c in seen)


def test_all_is_the_task_as_it_was() -> None:
    task, same = get_task("tabletop"), get_task("tabletop").with_instruction_split("all")
    for seed in range(20):
        a = task.sample_layout(np.random.default_rng(seed))
        b = same.sample_layout(np.random.default_rng(seed))
        assert np.array_equal(a.goal, b.goal) and a.objects.keys() == b.objects.keys()


def test_env_draws_the_split_and_says_it_in_words() -> None:
    env = gym.make(
        "wb/Tabletop-mujoco-v0", obs_mode="state+instruction", instruction_split="unseen_paraphrase"
    )
    obs, _ = env.reset(seed=5)
    first = obs["instruction"].split()[0]
    assert first in {"move", "get", "set", "rest", "raise", "grab"}
    env.close()


def test_bad_split_and_task_without_language_fail_clearly() -> None:
    with pytest.raises(ValueError, match="instruction split 'unseen' is not one of"):
        get_task("tabletop").with_instruction_split("unseen")
    with pytest.raises(ValueError, match="no instruction splits"):
        gym.make("wb/Push-mujoco-v0", instruction_split="seen")


def test_env_config_passes_the_split_and_refuses_it_elsewhere() -> None:
    from workbench.config import compose
    from workbench.errors import ConfigError

    cfg = compose("train", ["env=wb/Tabletop-pybullet-v0", "env.instruction_split=unseen_verb_object"])
    assert cfg.env.make_kwargs()["instruction_split"] == "unseen_verb_object"
    with pytest.raises(ConfigError, match="applies to Tabletop"):
        compose("train", ["env=wb/Push-mujoco-v0", "env.instruction_split=seen"])
    with pytest.raises(ConfigError, match="is not one of"):
        compose("train", ["env=wb/Tabletop-mujoco-v0", "env.instruction_split=novel"])
