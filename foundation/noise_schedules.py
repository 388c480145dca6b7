"""Noise schedules for diffusion models, through diffusers' DDPM and DDIM schedulers.

Training follows DDPM (Ho et al. 2020): draw a step k, noise the clean sample
``x_k = sqrt(abar_k) x_0 + sqrt(1 - abar_k) eps`` and regress the target (eps for ``epsilon``
prediction). Sampling can use DDPM's stochastic reverse process over all steps or DDIM's
deterministic one (Song et al. 2021, eta = 0) over a few: Diffusion Policy trains with 100 DDPM
steps and samples with 10-16 DDIM steps at no loss in success (Chi et al. 2023, sec. 4.4).

The cosine schedule ``squaredcos_cap_v2`` (Nichol & Dhariwal 2021) is the one Diffusion Policy uses.
DDIM timesteps are spaced ``trailing`` by default (99, 89, ..., 9 for 10 of 100): sampling then
starts at the last training step, whose abar is ~0 so that pure Gaussian noise is the right start
(Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed").

diffusers is imported when a schedule is built (it takes seconds), never at module import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
SAMPLERS = ("ddim", "ddpm")
BETA_SCHEDULES = ("squaredcos_cap_v2", "linear", "scaled_linear")

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_k (B, ...), k (B,)) -> model output


class NoiseSchedule:
    """The forward (noising) process for training and the reverse process for sampling.

    Args:
        num_train_timesteps: K, the number of diffusion steps in training.
        beta_schedule: diffusers' name of the beta schedule.
        prediction_type: what the network predicts: ``epsilon``, ``sample`` (x_0) or ``v_prediction``.
        clip_sample: clip the predicted x_0 to [-clip_sample_range, clip_sample_range] while sampling
            (data normalised to [-1, 1] stays there).
        sampler: ``ddim`` (deterministic, few steps) or ``ddpm`` (stochastic, all K steps by default).
        num_inference_steps: reverse steps when sampling (None: 10 for DDIM, K for DDPM).
        timestep_spacing: diffusers' spacing of the inference steps (``trailing``, ``leading``, ``linspace``).
    """

    def __init__(
        self,
        num_train_timesteps: int = 100,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "epsilon",
        clip_sample: bool = True,
        clip_sample_range: float = 1.0,
        sampler: str = "ddim",
        num_inference_steps: int | None = None,
        timestep_spacing: str = "trailing",
    ) -> None:
        from diffusers import DDIMScheduler, DDPMScheduler

        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type={prediction_type!r} is not one of {list(PREDICTION_TYPES)}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler={sampler!r} is not one of {list(SAMPLERS)}")
        if beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"beta_schedule={beta_schedule!r} is not one of {list(BETA_SCHEDULES)}")
        if num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps={num_train_timesteps} must be >= 1")
        if num_inference_steps is None:
            num_inference_steps = 10 if sampler == "ddim" else num_train_timesteps
        if not 1 <= num_inference_steps <= num_train_timesteps:
            raise ValueError(
                f"num_inference_steps={num_inference_steps} must be in "
                f"[1, num_train_timesteps={num_train_timesteps}]"
            )
        common: dict[str, Any] = {
            "num_train_timesteps": num_train_timesteps,
            "beta_schedule": beta_schedule,
            "prediction_type": prediction_type,
            "clip_sample": clip_sample,
            "clip_sample_range": clip_sample_range,
            "timestep_spacing": timestep_spacing,
        }
        self.num_train_timesteps = num_train_timesteps
        self.num_inference_steps = num_inference_steps
        self.prediction_type = prediction_type
        self.train_scheduler: Any = DDPMScheduler(**common)
        self.sampler: Any
        if sampler == "ddim":
            self.sampler = DDIMScheduler(set_alpha_to_one=True, **common)
        else:
            self.sampler = DDPMScheduler(**common)
        self.sampler.set_timesteps(num_inference_steps)

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        return self.train_scheduler.alphas_cumprod  # (K,)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Forward process: ``x_k = sqrt(abar_k) x_0 + sqrt(1 - abar_k) noise``; timesteps (B,) int64."""
        return self.train_scheduler.add_noise(x0, noise, timesteps)

    def target(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The regression target for ``prediction_type``."""
        if self.prediction_type == "epsilon":
            return noise
        if self.prediction_type == "sample":
            return x0
        return self.train_scheduler.get_velocity(x0, noise, timesteps)

    def sample_timesteps(
        self, batch: int, device: torch.device, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Uniform training steps k ~ U{0, ..., K-1}: (B,) int64."""
        return torch.randint(0, self.num_train_timesteps, (batch,), generator=generator).to(device)

    @torch.no_grad()
    def sample(
        self,
        denoiser: Denoiser,
        shape: tuple[int, ...],
        device: torch.device,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> torch.Tensor:
        """Reverse process from pure noise ``x_K ~ N(0, I)`` of ``shape`` to ``x_0``.

        ``generator`` (a CPU generator) makes sampling reproducible: the same generator state gives
        the same actions, on any device. A list gives one generator per batch row (per episode), so
        a row's sample does not depend on which other rows share its batch.
        """
        x = standard_normal(shape, generator).to(device)  # (B, ...)
        for k in self.sampler.timesteps:
            step = k.to(device).expand(shape[0])  # (B,)
            model_output = denoiser(x, step)
            # DDPM's step draws its variance noise from `generator`; DDIM with eta=0 draws none.
            x = self.sampler.step(model_output, int(k), x, generator=generator).prev_sample
        return x


def standard_normal(
    shape: tuple[int, ...], generator: torch.Generator | list[torch.Generator] | None = None
) -> torch.Tensor:
    """N(0, I) of ``shape`` on the CPU from ``generator``; a list gives one generator per batch row
    (``shape[0]`` of them), so a row's draw does not depend on which other rows share its batch."""
    if isinstance(generator, list):
        if len(generator) != shape[0]:
            raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
        return torch.stack([torch.randn(shape[1:], generator=g) for g in generator])
    return torch.randn(shape, generator=generator)
