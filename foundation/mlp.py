"""Multi-layer perceptron: the building block of low-dimensional policies and heads."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "mish": nn.Mish,
    "tanh": nn.Tanh,
}


class MLP(nn.Module):
    """``in_dim -> hidden_dims... -> out_dim`` with an activation (and optional dropout) between layers.

    LayerNorm after each hidden linear layer keeps behaviour-cloning training stable across the
    widely different scales of positions, velocities and gripper widths (robomimic does the same).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dims: Sequence[int] = (256, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        layer_norm: bool = True,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {sorted(_ACTIVATIONS)}")
        layers: list[nn.Module] = []
        dims = [in_dim, *hidden_dims]
        for d_in, d_out in itertools.pairwise(dims):
            layers.append(nn.Linear(d_in, d_out))
            if layer_norm:
                layers.append(nn.LayerNorm(d_out))
            layers.append(_ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(dims[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in_dim) -> (..., out_dim)
        return self.net(x)
