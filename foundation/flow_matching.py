"""Flow matching with straight paths (rectified flow; Liu et al. 2022, Lipman et al. 2022).

Noise ``x0 ~ N(0, I)`` and data ``x1`` are joined by the straight line ``x_t = (1 - t) x0 + t x1``,
t in [0, 1]; a network ``v(x_t, t)`` regresses the line's velocity ``x1 - x0``. Sampling integrates
``dx/dt = v(x, t)`` from noise at t = 0 to data at t = 1 with Euler steps. pi0 (Black et al. 2024)
predicts action chunks this way; it draws t from a Beta distribution that favours the noisy end, where
the velocity is hardest to guess (``sample_time``'s ``beta`` option, pi0's Beta(1.5, 1) mirrored to
our direction of time).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

TIME_SAMPLINGS = ("uniform", "beta")


def sample_time(n: int, how: str, generator: torch.Generator | None = None, device: str | torch.device = "cpu"
                ) -> torch.Tensor:  # fmt: skip
    """``(n,)`` training times in [0, 1): uniform, or Beta(1, 1.5) (more weight near t = 0, the noise)."""
    if how == "uniform":
        return torch.rand(n, generator=generator, device=device)
    if how == "beta":
        # Beta(1, 1.5) by inversion: F^-1(u) = 1 - (1 - u)^(1/1.5); keeps the generator the only source.
        u = torch.rand(n, generator=generator, device=device)
        return 1.0 - (1.0 - u) ** (1.0 / 1.5)
    raise ValueError(f"time sampling {how!r} is not one of {list(TIME_SAMPLINGS)}")


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``x_t = (1 - t) x0 + t x1``; ``t`` (B,) broadcast over the trailing dimensions of (B, ...)."""
    tt = t.reshape(-1, *([1] * (x1.dim() - 1)))
    return (1.0 - tt) * x0 + tt * x1


def target_velocity(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The straight path's velocity ``x1 - x0`` (what the network regresses)."""
    return x1 - x0


@torch.no_grad()
def euler_sample(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], noise: torch.Tensor, steps: int
) -> torch.Tensor:
    """Integrate ``dx/dt = velocity(x, t)`` from ``noise`` (t = 0) to t = 1 in ``steps`` Euler steps.

    ``velocity`` takes ``x`` (B, ...) and ``t`` (B,) and returns (B, ...)."""
    if steps < 1:
        raise ValueError(f"flow sampling needs >= 1 step, got {steps}")
    x = noise
    dt = 1.0 / steps
    for k in range(steps):
        t = torch.full((x.shape[0],), k * dt, device=x.device, dtype=x.dtype)
        x = x + dt * velocity(x, t)
    return x
