"""Ensembles of MLPs evaluated in one batched matmul per layer: the building block of PETS' dynamics
ensemble and of TD-MPC-style Q ensembles.

``E`` independent members share nothing but the call: weights are ``(E, in, out)`` and one
``torch.baddbmm`` runs every member on its own batch, which on CPU is ~E times faster than a Python
loop over ``E`` ``nn.Linear`` modules for the small layers of these models.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "relu": nn.ReLU, "mish": nn.Mish, "elu": nn.ELU}


class EnsembleLinear(nn.Module):
    """``E`` linear layers: ``(E, N, in) -> (E, N, out)``; each member initialised as ``nn.Linear``."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.members, self.in_dim, self.out_dim = members, in_dim, out_dim
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default (Kaiming-uniform with a = sqrt(5))
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """(E, N, in) -> (E, N, out); with ``members`` (M,) indices, (M, N, in) through those members."""
        if members is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.baddbmm(self.bias[members], x, self.weight[members])

    def extra_repr(self) -> str:
        return f"members={self.members}, in_dim={self.in_dim}, out_dim={self.out_dim}"


class EnsembleMLP(nn.Module):
    """``E`` MLPs ``in_dim -> hidden_dims... -> out_dim`` run together on ``(E, N, in_dim)`` inputs.

    ``layer_norm`` normalises every hidden layer per member (TD-MPC2's Q-functions do; PETS' dynamics
    models do not)."""

    def __init__(
        self,
        members: int,
        in_dim: int,
        out_dim: int,
        hidden_dims: Sequence[int] = (200, 200, 200),
        activation: str = "silu",
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {sorted(_ACTIVATIONS)}")
        self.members = members
        layers: list[nn.Module] = []
        dims = [in_dim, *hidden_dims]
        for d_in, d_out in itertools.pairwise(dims):
            layers.append(EnsembleLinear(members, d_in, d_out))
            if layer_norm:
                layers.append(nn.LayerNorm(d_out, elementwise_affine=False))
            layers.append(_ACTIVATIONS[activation]())
        layers.append(EnsembleLinear(members, dims[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        """(E, N, in_dim) -> (E, N, out_dim); with ``members`` (M,) indices, (M, N, in_dim) through
        those members only (e.g. a planner propagating through the elites)."""
        expected = self.members if members is None else len(members)
        if x.dim() != 3 or x.shape[0] != expected:
            raise ValueError(f"EnsembleMLP expects ({expected} members, N, in), got {tuple(x.shape)}")
        for layer in self.net:
            x = layer(x, members) if isinstance(layer, EnsembleLinear) else layer(x)
        return x
