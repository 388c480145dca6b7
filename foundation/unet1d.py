"""1-D temporal U-Net with FiLM conditioning: the denoiser of Diffusion Policy.

Chi et al. 2023, "Diffusion Policy: Visuomotor Policy Learning via Action Diffusion", sec. 3.2 and
fig. 2 ("CNN-based"): the noisy action chunk is a 1-D signal over time with A channels; residual
blocks of 1-D convolutions (GroupNorm, Mish) are modulated by FiLM (Perez et al. 2018) from a
condition vector = [diffusion-step embedding, observation features]. Convolutions over time bias
the network towards smooth action sequences, which is what makes it work well with position control.

The upstream low-dimensional configuration uses down_dims (256, 512, 1024), ~65M parameters and ~40
ms per denoising step on a laptop CPU. Robot tasks of this workbench need far less: (64, 128, 256)
or smaller keeps a 10-step DDIM chunk within the ~25 ms latency budget (see agents/imitation/diffusion).

Horizons that are not a multiple of ``2 ** (len(down_dims) - 1)`` are padded at the end and cropped
again, so any horizon >= 1 works.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from foundation.embeddings import SinusoidalPosEmb


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish. ``(B, Cin, T) -> (B, Cout, T)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_groups: int = 8) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(_groups(out_channels, n_groups), out_channels),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class FiLMResidualBlock1D(nn.Module):
    """Residual block whose hidden features are modulated by FiLM from a condition vector.

    ``h = conv_block1(x); h = scale(c) * h + bias(c); out = conv_block2(h) + shortcut(x)``, with
    per-channel ``scale`` and ``bias`` predicted from ``cond`` by Mish -> Linear.
    ``x`` (B, Cin, T), ``cond`` (B, cond_dim) -> (B, Cout, T).
    """

    def __init__(
        self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int = 5, n_groups: int = 8
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.block1 = Conv1dBlock(in_channels, out_channels, kernel_size, n_groups)
        self.block2 = Conv1dBlock(out_channels, out_channels, kernel_size, n_groups)
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * out_channels))
        self.shortcut: nn.Module = (
            nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.block1(x)  # (B, Cout, T)
        film = self.cond_encoder(cond).unsqueeze(-1)  # (B, 2 * Cout, 1)
        scale, bias = film.chunk(2, dim=1)  # (B, Cout, 1) each
        h = scale * h + bias
        return self.block2(h) + self.shortcut(x)  # (B, Cout, T)


class ConditionalUnet1D(nn.Module):
    """Noise predictor ``eps(a_k, k, obs)``: ``(B, T, A)`` -> ``(B, T, A)``.

    Args:
        input_dim: A, the action dimension (channels of the 1-D signal).
        global_cond_dim: size of the observation feature vector (0 for an unconditional model).
        down_dims: channel widths per resolution; len(down_dims) - 1 halvings of T.
        kernel_size: temporal kernel of the convolutions (5 in the paper).
        n_groups: GroupNorm groups (reduced when a width is not divisible).
        step_embed_dim: size of the diffusion-step embedding.
    """

    def __init__(
        self,
        input_dim: int,
        global_cond_dim: int,
        down_dims: Sequence[int] = (64, 128, 256),
        kernel_size: int = 5,
        n_groups: int = 8,
        step_embed_dim: int = 64,
    ) -> None:
        super().__init__()
        if not down_dims or any(d < 1 for d in down_dims):
            raise ValueError(f"down_dims={list(down_dims)} must be a non-empty list of positive widths")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size} must be odd (it keeps T unchanged)")
        self.step_encoder = nn.Sequential(
            SinusoidalPosEmb(step_embed_dim),
            nn.Linear(step_embed_dim, 4 * step_embed_dim),
            nn.Mish(),
            nn.Linear(4 * step_embed_dim, step_embed_dim),
        )
        cond_dim = step_embed_dim + global_cond_dim
        dims = [input_dim, *down_dims]
        in_out = list(itertools.pairwise(dims))
        self.downsample_factor = 2 ** (len(down_dims) - 1)

        def res(cin: int, cout: int) -> FiLMResidualBlock1D:
            return FiLMResidualBlock1D(cin, cout, cond_dim, kernel_size, n_groups)

        self.down = nn.ModuleList()
        for i, (cin, cout) in enumerate(in_out):
            last = i == len(in_out) - 1
            # Stride-2 conv halves T (Chi et al.'s Downsample1d).
            sample: nn.Module = nn.Identity() if last else nn.Conv1d(cout, cout, 3, stride=2, padding=1)
            self.down.append(nn.ModuleList([res(cin, cout), res(cout, cout), sample]))
        mid = down_dims[-1]
        self.mid = nn.ModuleList([res(mid, mid), res(mid, mid)])
        self.up = nn.ModuleList()
        for cin, cout in reversed(in_out[1:]):
            # Skip connections double the input channels; transposed conv doubles T.
            upsample = nn.ConvTranspose1d(cin, cin, 4, stride=2, padding=1)
            self.up.append(nn.ModuleList([res(2 * cout, cin), res(cin, cin), upsample]))
        self.final = nn.Sequential(
            Conv1dBlock(down_dims[0], down_dims[0], kernel_size, n_groups),
            nn.Conv1d(down_dims[0], input_dim, 1),
        )

    def forward(
        self, sample: torch.Tensor, timestep: torch.Tensor | int, global_cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """sample (B, T, A), timestep (B,) or scalar, global_cond (B, global_cond_dim) -> (B, T, A)."""
        b, t, _ = sample.shape
        k = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(b)  # (B,)
        cond = self.step_encoder(k)  # (B, step_embed_dim)
        if global_cond is not None:
            cond = torch.cat([cond, global_cond], dim=-1)  # (B, cond_dim)
        x = sample.transpose(1, 2)  # (B, A, T)
        pad = (-t) % self.downsample_factor
        if pad:
            x = F.pad(x, (0, pad))  # (B, A, T') with T' a multiple of the downsample factor
        skips = []
        for level in self.down:  # [res, res, downsample]
            x = level[1](level[0](x, cond), cond)  # type: ignore[index]
            skips.append(x)
            x = level[2](x)  # type: ignore[index]
        for block in self.mid:
            x = block(x, cond)
        for level in self.up:  # [res, res, upsample]
            x = torch.cat([x, skips.pop()], dim=1)  # (B, 2C, T_level)
            x = level[2](level[1](level[0](x, cond), cond))  # type: ignore[index]
        x = self.final(x)  # (B, A, T')
        return x[..., :t].transpose(1, 2)  # (B, T, A)


def _groups(channels: int, n_groups: int) -> int:
    g = min(n_groups, channels)
    while channels % g:
        g -= 1
    return g
