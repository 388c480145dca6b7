"""DAgger's beta schedule, policy mixing and label budget (the outer loop: tests/workbench/test_dagger.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.imitation.dagger import DaggerConfig, MixturePolicy, label_budget_left


def test_beta_decays_geometrically_to_zero() -> None:
    cfg = DaggerConfig(rounds=5, beta0=0.8, beta_decay=0.5)
    assert [cfg.beta(r) for r in range(1, 6)] == pytest.approx([0.8, 0.4, 0.2, 0.1, 0.05])
    assert DaggerConfig(beta0=1.0, beta_decay=0.0).beta(2) == 0.0  # Ross et al.'s beta_i = 1[i = 1]
    with pytest.raises(ValueError, match="numbered from 1"):
        cfg.beta(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rounds": -1}, "dagger.rounds"),
        ({"beta0": 1.5}, "dagger.beta0"),
        ({"beta_decay": -0.1}, "beta_decay"),
        ({"label_budget": -5}, "dagger.label_budget"),
        ({"steps_per_round": 0}, "dagger.steps_per_round"),
        ({"episodes_per_round": 0}, "dagger.episodes_per_round"),
        ({"max_episode_steps": 0}, "dagger.max_episode_steps"),
        ({"label": "some"}, "dagger.label"),
        ({"label": "failures"}, "dagger.beta0=0"),  # the expert must not act in a rollout labelled later
        ({"final": "median"}, "dagger.final"),
        ({"final": "best", "eval_every_round": False}, "dagger.eval_every_round"),
    ],
)
def test_config_errors_name_the_key(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DaggerConfig(**kwargs)  # type: ignore[arg-type]


class _Constant:
    """A policy that always outputs ``value`` and counts its calls and resets."""

    def __init__(self, value: float) -> None:
        self.value, self.calls, self.resets = value, 0, 0

    def reset(self, seed: int | None = None) -> None:
        self.resets += 1

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        self.resets += int(mask.sum())

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        self.calls += 1
        return np.full((len(obs["state"]), 2), self.value, dtype=np.float32)


OBS = {"state": np.zeros((4, 3), dtype=np.float32)}


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_mixture_executes_the_expert_with_probability_beta(beta: float) -> None:
    learner, expert = _Constant(-1.0), _Constant(1.0)
    mix = MixturePolicy(learner, expert, beta, seed=0)
    actions = np.concatenate([mix.act(OBS) for _ in range(500)])  # (2000, 2)
    from_expert = (actions[:, 0] == 1.0).mean()
    assert np.all(actions[:, 0] == actions[:, 1])  # a whole action comes from one policy
    assert from_expert == pytest.approx(beta, abs=0.03)
    assert mix.expert_fraction == pytest.approx(from_expert)
    # The learner acts at every step (its history and action queue must follow the episode).
    assert learner.calls == 500


def test_mixture_is_seeded_and_forwards_resets() -> None:
    runs = []
    for _ in range(2):
        mix = MixturePolicy(_Constant(-1.0), _Constant(1.0), 0.5, seed=7)
        runs.append(np.concatenate([mix.act(OBS) for _ in range(20)]))
    np.testing.assert_array_equal(runs[0], runs[1])
    learner = _Constant(0.0)
    mix = MixturePolicy(learner, _Constant(1.0), 0.5, seed=0)
    mix.reset(seed=3)
    mix.reset_envs(np.array([True, False, True, False]))
    assert learner.resets == 3


def test_label_budget() -> None:
    assert label_budget_left(0, 10_000) is None  # no budget
    assert label_budget_left(500, 320) == 180
    assert label_budget_left(500, 600) == 0
