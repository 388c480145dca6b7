"""Probes that size Diffusion Policy for a CPU: chunk latency and training throughput.

The sized recipes themselves are data, the experiment presets (``configs/experiment/
pusht_diffusion.yaml``, ``push_diffusion_rgb.yaml``, ...), which ``workbench bench imitation`` runs;
``python -m workbench.bench.diffusion_probe`` prints the numbers that sized them. No torch import
at module level.
"""

from __future__ import annotations

import time
from typing import Any


def dummy_observation(agent: Any, batch_size: int = 1) -> dict[str, Any]:
    """A batch of observation histories ``obs/<key>`` (B, To, ...) shaped like ``agent.obs_spec``."""
    import torch

    obs: dict[str, Any] = {}
    to = agent.config.obs_horizon
    for key in agent.config.obs_keys:
        shape = tuple(int(s) for s in agent.obs_spec[key]["shape"])
        if len(shape) == 3:  # (H, W, C) image
            obs[f"obs/{key}"] = torch.randint(0, 256, (batch_size, to, *shape), dtype=torch.uint8)
        else:
            obs[f"obs/{key}"] = torch.zeros(batch_size, to, *shape)
    return obs


def measure_latency(agent: Any, batch_size: int = 1, repeats: int = 30, warmup: int = 5) -> dict[str, float]:
    """Wall-clock ms for one action chunk (``predict_chunk``: encode + the whole reverse diffusion)."""
    import numpy as np
    import torch

    obs = dummy_observation(agent, batch_size)
    generator = torch.Generator().manual_seed(0)
    for _ in range(warmup):
        agent.predict_chunk(obs, generator)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        agent.predict_chunk(obs, generator)
        times.append(time.perf_counter() - tic)
    ms = np.asarray(times) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "min_ms": float(ms.min()),
    }


def measure_training_throughput(agent: Any, dataset: Any, batch_size: int, steps: int = 10) -> float:
    """Training samples/s of ``compute_loss`` + backward + optimiser + EMA (after one warm-up step)."""
    import numpy as np

    optimizer = agent.configure_optimizer()
    rng = np.random.default_rng(0)
    agent.train()

    def step() -> None:
        batch = dataset.sample_batch(rng.integers(0, len(dataset), batch_size))
        loss, _ = agent.compute_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        agent.after_optimizer_step()

    step()
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch_size / (time.perf_counter() - tic)


def main() -> None:
    """``nice -n 10 python -m workbench.bench.diffusion_probe``: chunk latency at batch size 1 of the
    default state policy (Push-sized: 16-d state, 4-d action) and its training samples/s."""
    import torch

    from agents.imitation.diffusion import DiffusionAgent
    from agents.imitation.diffusion_config import DiffusionConfig

    obs_spec = {"state": {"shape": [16]}}
    action_spec = {"shape": [4]}

    class _Random:  # a stand-in dataset: throughput does not depend on the values
        def __len__(self) -> int:
            return 10_000

        def sample_batch(self, idx: Any) -> dict[str, Any]:
            b = len(idx)
            return {"obs/state": torch.rand(b, 2, 16), "action": torch.rand(b, 16, 4) * 2 - 1,
                    "action_is_pad": torch.zeros(b, 16, dtype=torch.bool),
                    "past_action": torch.rand(b, 1, 4) * 2 - 1,
                    "past_action_is_pad": torch.zeros(b, 1, dtype=torch.bool)}  # fmt: skip

    for threads in (1, torch.get_num_threads()):
        torch.set_num_threads(threads)
        variants: list[dict[str, Any]] = [{}, {"down_dims": [64, 128, 256]}, {"denoiser": "transformer"}]
        for variant in variants:
            torch.manual_seed(0)
            config = DiffusionConfig(**variant)
            agent = DiffusionAgent(config, obs_spec, action_spec).eval()
            lat = measure_latency(agent)
            agent.train()
            rate = measure_training_throughput(agent, _Random(), batch_size=256, steps=5)
            name = ", ".join(f"{k}={v}" for k, v in variant.items()) or "default"
            print(
                f"threads={threads} {name:28s} chunk latency median {lat['median_ms']:.1f} ms "
                f"(min {lat['min_ms']:.1f}, p90 {lat['p90_ms']:.1f}); training {rate:.0f} samples/s"
            )


if __name__ == "__main__":
    main()
