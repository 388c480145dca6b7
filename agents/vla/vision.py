"""Images -> tokens for the VLA agents: a small residual conv trunk, FiLM-conditioned on the instruction
(RT-1's EfficientNet+FiLM, at CPU size) or unconditioned (pi0 style, where the text meets the image in
attention instead).

    (N, H, W, 3) uint8 -> stem (conv s2, max-pool s2) -> residual stages (s2 each) -> 1x1 conv
    -> (N, h*w, D) tokens + a learned position per cell

FiLM (Perez et al. 2018): each stage's output ``x`` becomes ``(1 + gamma(c)) * x + beta(c)`` with
gamma, beta linear in the sentence vector c and zero-initialised, so training starts from the
unconditioned trunk (RT-1 initialises its FiLM layers to the identity for the same reason).
"""

from __future__ import annotations

import torch
from torch import nn

from foundation.resnet import BasicBlock, group_norm


class FiLM(nn.Module):
    """``(N, C, H, W)``, condition ``(N, Dc)`` -> ``(1 + gamma) * x + beta``, identity at init."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(cond)[:, :, None, None].chunk(2, dim=1)  # (N, C, 1, 1) each
        return (1.0 + gamma) * x + beta


class ConvTokenizer(nn.Module):
    """``(N, H, W, 3)`` uint8 (and a condition ``(N, Dc)`` when ``cond_dim``) -> ``(N, h*w, width)``."""

    def __init__(self, widths: list[int], width: int, image_hw: tuple[int, int], cond_dim: int = 0) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False), group_norm(widths[0]), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )  # fmt: skip
        chans = [widths[0], *widths]  # the first stage keeps the stem's width at stride 1
        self.stages = nn.ModuleList(
            BasicBlock(chans[i], chans[i + 1], stride=1 if i == 0 else 2) for i in range(len(widths))
        )
        self.films = nn.ModuleList(FiLM(cond_dim, c) for c in widths) if cond_dim else None
        self.proj = nn.Conv2d(widths[-1], width, 1)
        with torch.no_grad():  # the token grid of this image size
            h, w = self._trunk(torch.zeros(1, 3, *image_hw), None).shape[-2:]
        self.grid = (int(h), int(w))
        self.pos = nn.Parameter(torch.randn(1, h * w, width) * 0.02)

    def _trunk(
        self, x: torch.Tensor, cond: torch.Tensor | None, maps: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if self.films is not None and cond is not None:
                x = self.films[i](x, cond)
            if maps is not None:
                maps.append(x)
        return self.proj(x)  # (N, width, h, w)

    def forward(
        self, images: torch.Tensor, cond: torch.Tensor | None = None, maps: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Tokens; with ``maps`` a list, each stage's (FiLM-conditioned) feature map is appended to it
        ((N, widths[i], H/4 / 2^i, W/4 / 2^i)), for heads that need where things are (vla/spatial.py)."""
        if self.films is not None and cond is None:
            raise ValueError("this image tokenizer is FiLM-conditioned: pass cond=(N, Dc)")
        x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, 3, H, W) in [-1, 1]
        feats = self._trunk(x, cond, maps)  # (N, D, h, w)
        return feats.flatten(2).transpose(1, 2) + self.pos  # (N, h*w, D)
