"""Rectified-flow pieces: the straight path, its velocity, the time sampler and the Euler sampler."""

from __future__ import annotations

import pytest
import torch

from foundation.flow_matching import euler_sample, interpolate, sample_time, target_velocity


def gaussian_velocity(mu: float, sigma: float):  # type: ignore[no-untyped-def]
    """The exact marginal velocity E[x1 - x0 | x_t = x] for data N(mu, sigma^2) and noise N(0, 1):
    x_t ~ N(t mu, (1-t)^2 + t^2 sigma^2) and Cov(x1 - x0, x_t) = t sigma^2 - (1 - t)."""

    def v(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.reshape(-1, *([1] * (x.dim() - 1)))
        var = (1 - tt) ** 2 + tt**2 * sigma**2
        return mu + (tt * sigma**2 - (1 - tt)) / var * (x - tt * mu)

    return v


def test_sampler_recovers_a_known_1d_distribution() -> None:
    """Integrating the exact velocity field carries N(0, 1) noise onto N(3, 0.5^2)."""
    noise = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(0))
    samples = euler_sample(gaussian_velocity(3.0, 0.5), noise, steps=100)
    assert abs(samples.mean().item() - 3.0) < 0.02
    assert abs(samples.std().item() - 0.5) < 0.02


def test_learned_velocity_recovers_both_modes_of_a_mixture() -> None:
    """A small network trained by flow matching on a two-mode 1-D mixture (+-2) samples both modes
    in equal shares, with little mass between them (where averaging the modes would put it)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.SiLU(), torch.nn.Linear(64, 64),
                              torch.nn.SiLU(), torch.nn.Linear(64, 1))  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(1500):
        x1 = torch.where(torch.rand(256, 1) < 0.5, -2.0, 2.0) + 0.1 * torch.randn(256, 1)
        x0 = torch.randn_like(x1)
        t = sample_time(256, "uniform")
        pred = net(torch.cat([interpolate(x0, x1, t), t[:, None]], dim=1))
        loss = ((pred - target_velocity(x0, x1)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    samples = euler_sample(lambda x, t: net(torch.cat([x, t[:, None]], dim=1)), torch.randn(4000, 1), 20)
    right = (samples > 1.0).float().mean().item()
    left = (samples < -1.0).float().mean().item()
    assert 0.4 < right < 0.6 and 0.4 < left < 0.6
    assert ((samples.abs() < 0.5).float().mean().item()) < 0.05


def test_time_sampling() -> None:
    g = torch.Generator().manual_seed(0)
    beta = sample_time(50_000, "beta", g)
    assert beta.min() >= 0.0 and beta.max() < 1.0
    assert abs(beta.mean().item() - 0.4) < 0.01  # Beta(1, 1.5): mean 1 / 2.5, more weight near the noise
    with pytest.raises(ValueError, match="not one of"):
        sample_time(4, "normal")
    with pytest.raises(ValueError, match=">= 1 step"):
        euler_sample(lambda x, t: x, torch.zeros(2, 1), 0)
