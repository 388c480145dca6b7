"""Behaviour cloning: masking of padded actions, chunked execution, per-env resets."""

from __future__ import annotations

import numpy as np
import torch

from agents.imitation.bc import BCAgent
from agents.imitation.bc_config import BCConfig

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}


def _agent(**kw: int) -> BCAgent:
    torch.manual_seed(0)
    return BCAgent(BCConfig(hidden_dims=[16], **kw), OBS_SPEC, ACTION_SPEC)  # type: ignore[arg-type]


def test_padded_actions_do_not_count() -> None:
    agent = _agent(action_horizon=3, execute_horizon=3)
    batch = {
        "obs/state": torch.randn(4, 1, 3),
        "action": torch.zeros(4, 3, 2),
        "action_is_pad": torch.tensor([[False, True, True]] * 4),
    }
    loss, _ = agent.compute_loss(batch)
    batch["action"][:, 1:] = 100.0  # padded entries: huge but masked out
    loss_padded, _ = agent.compute_loss(batch)
    assert torch.allclose(loss, loss_padded)


def test_chunk_is_executed_before_replanning() -> None:
    agent = _agent(action_horizon=4, execute_horizon=3)
    calls = 0
    forward = agent.forward

    def counting(obs: dict[str, torch.Tensor]) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return forward(obs)

    agent.forward = counting  # type: ignore[method-assign]
    obs = {"state": np.zeros((2, 3), dtype=np.float32)}
    for _ in range(6):
        action = agent.act(obs)
        assert action.shape == (2, 2) and np.all(np.abs(action) <= 1)
    assert calls == 2  # 6 actions = 2 chunks of 3

    agent.reset_envs(np.array([True, False]))
    agent.act(obs)
    assert calls == 3  # the restarted env needs a fresh chunk


def test_history_pads_with_first_observation_after_reset() -> None:
    agent = _agent(obs_horizon=3)
    first = {"state": np.ones((1, 3), dtype=np.float32)}
    agent.act(first)
    np.testing.assert_array_equal(agent._history["state"][0], np.ones((3, 3)))
    second = {"state": np.full((1, 3), 2.0, dtype=np.float32)}
    agent.act(second)
    np.testing.assert_array_equal(agent._history["state"][0, :, 0], [1, 1, 2])
    agent.reset_envs(np.array([True]))
    agent.act({"state": np.full((1, 3), 5.0, dtype=np.float32)})
    np.testing.assert_array_equal(agent._history["state"][0, :, 0], [5, 5, 5])
