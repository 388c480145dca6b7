"""EMA: the update rule, the warm-up decay, buffers, save/load."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from foundation.ema import EMA


def test_decay_schedule() -> None:
    ema = EMA(nn.Linear(2, 2), power=0.75, max_decay=0.9999)
    assert ema.decay(0) == 0.0 and ema.decay(1) == 0.0
    assert ema.decay(2) == pytest.approx(1 - 2**-0.75)
    decays = [ema.decay(n) for n in range(2, 10_000, 500)]
    assert decays == sorted(decays)
    assert ema.decay(10**9) == 0.9999


def test_update_rule() -> None:
    model = nn.Linear(3, 1)
    ema = EMA(model)
    for expected_updates in (1, 2):  # decay 0: the average copies the weights
        with torch.no_grad():
            model.weight.add_(1.0)
        ema.update(model)
        assert int(ema.updates) == expected_updates
        torch.testing.assert_close(ema.averaged.weight, model.weight)
    before = ema.averaged.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    decay = ema.decay(2)
    ema.update(model)
    torch.testing.assert_close(ema.averaged.weight, decay * before + (1 - decay) * model.weight)
    assert not ema.averaged.weight.requires_grad


def test_buffers_copied_and_state_dict_roundtrip() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = EMA(model)
    model.train()
    model(torch.randn(8, 2))  # moves the running statistics
    ema.update(model)
    torch.testing.assert_close(ema.averaged[1].running_mean, model[1].running_mean)
    other = EMA(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    other.load_state_dict(ema.state_dict())
    assert int(other.updates) == 1
    torch.testing.assert_close(other.averaged[0].weight, ema.averaged[0].weight)
