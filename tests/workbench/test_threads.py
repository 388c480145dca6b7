"""threads=auto|N: one thread for state models, a few for image encoders, clear errors otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from workbench.threads import auto_threads, configure_threads, has_image_keys, parse_threads


@dataclass
class FakeAgent:
    obs_keys: list[str] = field(default_factory=lambda: ["state"])


def test_parse_threads_accepts_auto_and_positive_integers() -> None:
    assert parse_threads("auto") is None
    assert parse_threads("AUTO") is None
    assert parse_threads("1") == 1
    assert parse_threads(" 3 ") == 3


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "", "2x"])
def test_parse_threads_rejects_with_one_actionable_line(bad: str) -> None:
    with pytest.raises(ValueError, match=r"threads=") as info:
        parse_threads(bad)
    message = str(info.value)
    assert "\n" not in message and "threads=auto" in message


def test_image_keys_are_recognised() -> None:
    assert has_image_keys(["rgb/agentview", "proprio"])
    assert has_image_keys(["depth/front"])
    assert has_image_keys(["seg/front"])
    assert not has_image_keys(["state", "proprio"])
    assert not has_image_keys([])


def test_auto_is_one_thread_for_state_models() -> None:
    assert auto_threads(FakeAgent(["state"]), "cpu", cpu_count=16) == 1
    assert auto_threads(object(), "cpu", cpu_count=16) == 1  # no obs_keys at all


def test_auto_leaves_a_core_free_for_image_models_up_to_four_threads() -> None:
    agent = FakeAgent(["rgb/agentview", "proprio"])
    assert auto_threads(agent, "cpu", cpu_count=1) == 1
    assert auto_threads(agent, "cpu", cpu_count=2) == 1
    assert auto_threads(agent, "cpu", cpu_count=4) == 3
    assert auto_threads(agent, "cpu", cpu_count=16) == 4
    assert auto_threads(agent, "cuda", cpu_count=16) == 4


def test_configure_threads_sets_torch_and_returns_the_number() -> None:
    before = torch.get_num_threads()
    try:
        assert configure_threads("auto", FakeAgent(), "cpu") == 1
        assert torch.get_num_threads() == 1
        assert configure_threads("2", FakeAgent(), "cpu") == 2
        assert torch.get_num_threads() == 2
        # A second call in one process must not fail on torch's once-only inter-op setting.
        assert configure_threads("1", FakeAgent(), "cpu") == 1
    finally:
        torch.set_num_threads(before)


def test_configure_threads_validates_before_touching_torch() -> None:
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="threads="):
        configure_threads("many", FakeAgent(), "cpu")
    assert torch.get_num_threads() == before
