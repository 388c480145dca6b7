"""Spatial softmax: a feature map -> the expected image coordinates of K learned keypoints.

Levine, Finn et al. 2016, "End-to-End Training of Deep Visuomotor Policies", sec. 4.1. Each of the
K channels (after an optional 1x1 projection) is turned into a probability map over pixels by a
softmax; the keypoint is the expectation of the pixel coordinates under that map. The output says
*where* things are, which is what manipulation policies need, with far fewer numbers than flattening
the map. robomimic and Diffusion Policy put it on top of a ResNet-18 trunk.
"""

from __future__ import annotations

import torch
from torch import nn


class SpatialSoftmax(nn.Module):
    """``(N, C, H, W)`` feature map -> ``(N, K, 2)`` keypoints (x, y) in [-1, 1] image coordinates.

    Args:
        in_channels: C, channels of the input feature map.
        num_keypoints: K; a 1x1 convolution maps C -> K channels first. ``None`` keeps K = C.
        temperature: softmax temperature (lower = sharper maps).
        learnable_temperature: learn the temperature (robomimic's default) instead of fixing it.

    ``out_dim`` (= 2K) is the size of the flattened output, for the layer that follows.
    Works for any H and W (the coordinate grid is built for the input's size), so a random crop
    in training and a centre crop in evaluation can share the module.
    """

    def __init__(
        self,
        in_channels: int,
        num_keypoints: int | None = 32,
        temperature: float = 1.0,
        learnable_temperature: bool = True,
    ) -> None:
        super().__init__()
        if in_channels < 1 or (num_keypoints is not None and num_keypoints < 1):
            raise ValueError(f"in_channels={in_channels}, num_keypoints={num_keypoints} must be >= 1")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature} must be > 0")
        self.num_keypoints = in_channels if num_keypoints is None else num_keypoints
        self.proj: nn.Module = (
            nn.Identity() if num_keypoints is None else nn.Conv2d(in_channels, num_keypoints, kernel_size=1)
        )
        temp = torch.tensor(float(temperature))
        if learnable_temperature:
            self.temperature = nn.Parameter(temp)
        else:
            self.register_buffer("temperature", temp)

    @property
    def out_dim(self) -> int:
        return 2 * self.num_keypoints

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.proj(features)  # (N, K, H, W)
        n, k, h, w = x.shape
        # Pixel-centre coordinates in [-1, 1]; x varies along W, y along H.
        xs = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)  # (W,)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)  # (H,)
        pos_y, pos_x = torch.meshgrid(ys, xs, indexing="ij")  # (H, W) each
        # abs() keeps a learnable temperature from flipping sign (the softmax would then pick minima).
        attention = torch.softmax(x.reshape(n, k, h * w) / self.temperature.abs().clamp_min(1e-4), dim=-1)
        expected_x = (attention * pos_x.reshape(1, 1, h * w)).sum(-1)  # (N, K)
        expected_y = (attention * pos_y.reshape(1, 1, h * w)).sum(-1)  # (N, K)
        return torch.stack([expected_x, expected_y], dim=-1)  # (N, K, 2)
