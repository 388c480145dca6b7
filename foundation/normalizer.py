"""Input/output normalisation whose statistics travel inside the model's ``state_dict``.

A policy trained on normalised data is useless without the exact statistics, so they are buffers of
the module: saving the weights saves them, and a checkpoint can never pair weights with stale
statistics (a classic source of silently broken policies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

NormalizerMode = Literal["gaussian", "minmax"]


class Normalizer(nn.Module):
    """Affine per-dimension normaliser ``x_n = (x - loc) / scale``, saved in ``state_dict``.

    ``gaussian``: loc = mean, scale = std -> zero mean, unit variance.
    ``minmax``:   loc = (max + min) / 2, scale = (max - min) / 2 -> data in [-1, 1] (the range
                  Diffusion Policy's denoiser and tanh policy heads expect).

    A dimension whose std (or range) is below ``eps`` (absolute, default 1e-4) is treated as
    constant: its scale becomes 1, so it is centred but never divided by ~0. Dividing by a floored
    tiny std would map a joint that never moved in the demos to 0 and then blow any test-time
    deviation up by 1/eps; passing it through unscaled keeps the input bounded. This mirrors
    Diffusion Policy's ``range_eps`` handling. An absolute threshold (not relative to the mean) is
    used because a dimension's offset says nothing about its meaningful variation.

    The mode is kept as module extra state, so ``load_state_dict`` restores it exactly.
    """

    loc: torch.Tensor
    scale: torch.Tensor

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor, mode: NormalizerMode = "gaussian") -> None:
        super().__init__()
        if mode not in ("gaussian", "minmax"):
            raise ValueError(f"Normalizer mode must be 'gaussian' or 'minmax', got {mode!r}")
        if loc.shape != scale.shape:
            raise ValueError(f"loc shape {tuple(loc.shape)} != scale shape {tuple(scale.shape)}")
        self.mode: NormalizerMode = mode
        self.register_buffer("loc", loc.detach().clone().float())  # (*D)
        self.register_buffer("scale", scale.detach().clone().float())  # (*D)

    @classmethod
    def identity(cls, shape: Sequence[int], mode: NormalizerMode = "gaussian") -> Normalizer:
        """A no-op normaliser of the right shape, e.g. to ``load_state_dict`` a checkpoint into."""
        return cls(torch.zeros(tuple(shape)), torch.ones(tuple(shape)), mode)

    @classmethod
    def from_stats(
        cls, stats: Mapping[str, Any], mode: NormalizerMode = "gaussian", eps: float = 1e-4
    ) -> Normalizer:
        """Build from one key's stats dict (``mean``/``std`` or ``min``/``max`` lists)."""
        if mode == "gaussian":
            loc = np.asarray(stats["mean"], dtype=np.float64)
            scale = np.asarray(stats["std"], dtype=np.float64)
        elif mode == "minmax":
            lo = np.asarray(stats["min"], dtype=np.float64)
            hi = np.asarray(stats["max"], dtype=np.float64)
            loc, scale = (hi + lo) / 2, (hi - lo) / 2
        else:
            raise ValueError(f"Normalizer mode must be 'gaussian' or 'minmax', got {mode!r}")
        scale = np.where(scale < eps, 1.0, scale)  # constant dims: centre only (see class docstring)
        return cls(
            torch.as_tensor(loc, dtype=torch.float32), torch.as_tensor(scale, dtype=torch.float32), mode
        )

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(..., *D) -> (..., *D); trailing dims must match the stats."""
        return (x - self.loc) / self.scale

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.loc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(x)

    def get_extra_state(self) -> dict[str, str]:
        return {"mode": self.mode}

    def set_extra_state(self, state: dict[str, str]) -> None:
        self.mode = state["mode"]  # type: ignore[assignment]

    def extra_repr(self) -> str:
        return f"mode={self.mode}, shape={tuple(self.loc.shape)}"


def normalizers_from_stats(
    stats: Mapping[str, Mapping[str, Any]], keys: Sequence[str], mode: NormalizerMode = "gaussian"
) -> nn.ModuleDict:
    """One ``Normalizer`` per key (e.g. ``["obs/state", "action"]``) in a ModuleDict for the policy.

    ModuleDict names cannot contain '.', but '/' is fine, so batch keys are used unchanged.
    """
    missing = [k for k in keys if k not in stats]
    if missing:
        raise KeyError(f"no statistics for {missing}; available: {sorted(stats)}")
    return nn.ModuleDict({k: Normalizer.from_stats(stats[k], mode) for k in keys})
