"""Seeing what a network sees: vanilla-gradient saliency (Simonyan et al. 2014) and Grad-CAM
(Selvaraju et al. 2017) for the workbench's CNN image encoders -- a perception model's backbone or the
encoder inside a trained image policy -- as overlays on the frames they looked at.

A *target* says what is explained: one scalar per frame that the network computes from it.

- detector: its detections (the summed scores of the class-heatmap peaks above 0.3);
- segmenter: its mean confidence in the non-background classes it predicts;
- image policy (BC and its RNN / transformer variants): the squared norm of its first (normalised)
  action -- which pixels move the action it takes.

Grad-CAM weighs the activations of the encoder's last stage (a ViT's: its last block's patch tokens)
by the mean gradient of the target per channel, keeps the positive part and upsamples it to the
frame; saliency is the largest absolute input gradient over the colour channels. Both are scaled to
[0, 1] per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workbench.errors import UserError


@dataclass
class Target:
    """What to explain: ``score(images, step)`` -> (N,) scalars for float images (N, H, W, 3) in [0, 1]
    taken at episode ``step`` (N,) (policies read the other observations of those steps), and the
    ``layer`` whose activations Grad-CAM weighs."""

    score: Callable[[torch.Tensor, np.ndarray], torch.Tensor]
    layer: nn.Module
    camera: str | None
    description: str
    grid: tuple[int, int] | None = None  # a ViT layer: its patch tokens (after the class token) as h x w


def explain(target: Target, images: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) uint8 frames -> Grad-CAM and saliency maps (N, H, W) float32 in [0, 1]."""
    captured: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        output.retain_grad()
        captured["activation"] = output

    x = torch.as_tensor(images).float().div(255.0).requires_grad_(True)
    handle = target.layer.register_forward_hook(keep)
    try:
        scores = target.score(x, steps)
        scores.sum().backward()
    finally:
        handle.remove()
    activation = captured["activation"]  # (N * k, C, h, w): k frames per image for a history
    gradient = activation.grad
    assert gradient is not None
    if target.grid is not None:  # ViT tokens (N*k, 1 + h*w, C) -> (N*k, C, h, w)
        activation, gradient = (t[:, 1:].transpose(1, 2).reshape(len(t), -1, *target.grid)
                                for t in (activation, gradient))  # fmt: skip
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (N*k, C, 1, 1)
    cam = F.relu((weights * activation).sum(1))  # (N*k, h, w)
    cam = cam.reshape(len(images), -1, *cam.shape[-2:]).mean(1, keepdim=True)  # (N, 1, h, w)
    cam = F.interpolate(cam, size=images.shape[1:3], mode="bilinear", align_corners=False)[:, 0]
    assert x.grad is not None
    saliency = x.grad.abs().amax(-1)  # (N, H, W)
    return _unit(cam.detach().numpy()), _unit(saliency.numpy())


def _unit(maps: np.ndarray) -> np.ndarray:
    low = maps.reshape(len(maps), -1).min(1)[:, None, None]
    high = maps.reshape(len(maps), -1).max(1)[:, None, None]
    return ((maps - low) / np.maximum(high - low, 1e-12)).astype(np.float32)


def overlay(frame: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8 frame and (H, W) map in [0, 1] -> (H, W, 3) uint8, the map in the jet colours."""
    from matplotlib import colormaps

    coloured = colormaps["jet"](heat)[..., :3] * 255.0
    return (frame * (1 - alpha) + coloured * alpha).astype(np.uint8)


def panel(frame: np.ndarray, cam: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """The frame, its saliency and its Grad-CAM side by side: (H, 3W, 3) uint8."""
    return np.concatenate([frame, overlay(frame, saliency), overlay(frame, cam)], axis=1)


# ------------------------------------------------------------------------------------------ targets
def perception_target(model: Any) -> Target:
    """The target of a perception model file's model (``perception.model_io``)."""
    if model.task == "detection":
        net = model.net

        def peak(images: torch.Tensor, steps: np.ndarray) -> torch.Tensor:
            heat = torch.sigmoid(net(images * 255.0)["heat"])  # the net maps [0, 255] to [-1, 1]
            peaks = heat == F.max_pool2d(heat, 3, stride=1, padding=1)  # the decoder's 3x3 NMS
            found = peaks & (heat > 0.3)
            return (heat * found).flatten(1).sum(1)  # every detection's score

        # the stride-4 neck the heads read (the last backbone stage, at stride 32, is 7x7 at 224 px)
        return Target(peak, net.smooth, None, "the detector's detections (summed scores above 0.3)")
    if model.task == "segmentation":
        net = model.net

        def confidence(images: torch.Tensor, steps: np.ndarray) -> torch.Tensor:
            probs = torch.softmax(net(images * 255.0), dim=1)  # (N, C, H, W)
            return probs[:, 1:].amax(1).mean((1, 2))

        return Target(confidence, net.down[-1], None, "the segmenter's confidence in non-background classes")
    raise UserError(f"explain reads detectors, segmenters and image policies, not a {model.task} model")


def policy_target(policy: Any, observations: dict[str, np.ndarray], camera: str | None) -> Target:
    """The target of a BC-family image policy acting on an episode's ``observations`` (key -> (T+1, ...)):
    frames of ``camera`` (None: its first) stand in for that camera's observation, the other keys are
    the episode's own at the same steps, repeated over the policy's history."""
    from agents.imitation.obs_encoder import module_key

    encoder = getattr(policy, "encoder", None)
    if encoder is None or not getattr(encoder, "image_keys", None) or not hasattr(policy, "action_norm"):
        raise UserError(
            f"explain reads image policies that map observations to actions in one pass (bc with rgb "
            f"obs_keys); this run's agent ({type(policy).__name__}) is not one"
        )
    key = f"rgb/{camera}" if camera is not None else encoder.image_keys[0]
    if key not in encoder.image_keys:
        raise UserError(f"camera={camera}: the policy reads {encoder.image_keys}")
    horizon = policy.config.obs_horizon
    device = next(policy.parameters()).device

    def action_norm(images: torch.Tensor, steps: np.ndarray) -> torch.Tensor:
        inputs = {}
        for name in [*encoder.low_dim_keys, *encoder.image_keys]:
            # the camera's frames as floats in [0, 1] (the encoder takes them as they are)
            value = images if name == key else torch.as_tensor(observations[name][steps], device=device)
            inputs[f"obs/{name}"] = value[:, None].expand(-1, horizon, *value.shape[1:])  # (N, To, ...)
        return policy(inputs)[:, 0].pow(2).sum(-1)  # (N,)

    camera_encoder = encoder.cameras[module_key(key)]
    description = "the squared norm of the policy's first (normalised) action"
    if hasattr(camera_encoder, "blocks"):  # the ViT: its last block's patch tokens
        h, w = encoder.crop_shape[key]
        grid = (h // camera_encoder.patch, w // camera_encoder.patch)
        return Target(action_norm, camera_encoder.blocks.layers[-1], key[4:], description, grid)
    return Target(action_norm, camera_encoder.backbone.stages[-1], key[4:], description)
