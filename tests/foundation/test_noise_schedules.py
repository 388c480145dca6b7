"""Noise schedules (diffusers): forward process formula, and that the reverse process with the true
noise reconstructs the clean sample (DDIM exactly; DDPM too, its noise terms cancel for an oracle)."""

from __future__ import annotations

import pytest
import torch

from foundation.noise_schedules import NoiseSchedule


def _oracle(schedule: NoiseSchedule, x0: torch.Tensor):  # type: ignore[no-untyped-def]
    abar = schedule.alphas_cumprod

    def eps(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:  # the exact noise in x_k given x_0
        a = abar[k].view(-1, *([1] * (x.dim() - 1)))
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    return eps


def test_add_noise_matches_the_forward_process() -> None:
    s = NoiseSchedule(num_train_timesteps=100)
    x0, noise = torch.rand(3, 16, 4) * 2 - 1, torch.randn(3, 16, 4)
    k = torch.tensor([0, 50, 99])
    a = s.alphas_cumprod[k].view(-1, 1, 1)
    torch.testing.assert_close(s.add_noise(x0, noise, k), a.sqrt() * x0 + (1 - a).sqrt() * noise)
    assert s.alphas_cumprod[0] > 0.99 and s.alphas_cumprod[-1] < 1e-3  # squaredcos: clean -> pure noise
    torch.testing.assert_close(s.target(x0, noise, k), noise)


@pytest.mark.parametrize("sampler,steps", [("ddim", 10), ("ddim", 3), ("ddpm", None)])
def test_denoise_round_trip_with_true_noise(sampler: str, steps: int | None) -> None:
    s = NoiseSchedule(sampler=sampler, num_inference_steps=steps)
    x0 = torch.rand(2, 7, 3) * 2 - 1
    out = s.sample(_oracle(s, x0), tuple(x0.shape), torch.device("cpu"), torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x0, atol=1e-5, rtol=0)


def test_ddim_timesteps_start_at_pure_noise() -> None:
    s = NoiseSchedule(num_train_timesteps=100, num_inference_steps=10)
    assert s.sampler.timesteps.tolist() == [99, 89, 79, 69, 59, 49, 39, 29, 19, 9]


def test_sampling_is_reproducible_with_a_generator() -> None:
    s = NoiseSchedule(sampler="ddpm", num_inference_steps=20)

    def denoiser(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return 0.1 * x

    a = s.sample(denoiser, (2, 4), torch.device("cpu"), torch.Generator().manual_seed(3))
    b = s.sample(denoiser, (2, 4), torch.device("cpu"), torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="prediction_type"):
        NoiseSchedule(prediction_type="noise")
    with pytest.raises(ValueError, match="num_inference_steps"):
        NoiseSchedule(num_train_timesteps=10, num_inference_steps=20)
