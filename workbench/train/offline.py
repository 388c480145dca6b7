"""The offline training loop: one loop for every agent that learns from a dataset (imitation, VLA).

The agent brings ``compute_loss(batch) -> (loss, metrics)`` and ``configure_optimizer()``
(:class:`agents.base.OfflineAgent`); this trainer owns batching, the learning-rate schedule,
gradient clipping and mixed precision on GPUs, and inherits checkpoints, logging and validation
from :class:`workbench.train.base.Trainer`. Batches are drawn with a seeded ``torch.Generator``
whose state is checkpointed, so a resumed run draws exactly the batches the uninterrupted run would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from agents.base import OfflineAgent
from workbench.config import TrainerConfig
from workbench.logger import Logger
from workbench.train.base import Evaluator, Trainer
from workbench.train.distributed import DistInfo


@dataclass
class Recipe:
    """The agent's optimisation recipe (from its config)."""

    steps: int
    batch_size: int
    warmup_steps: int
    grad_clip: float

    @classmethod
    def of(cls, agent_config: Any, steps: int | None = None) -> Recipe:
        return cls(
            steps if steps is not None else agent_config.steps,
            agent_config.batch_size,
            agent_config.warmup_steps,
            agent_config.grad_clip,
        )


class BatchSource(Protocol):
    """A dataset the trainer can index: ``len`` samples, ``sample_batch(indices)`` of tensors."""

    def __len__(self) -> int: ...

    def sample_batch(self, indices: np.ndarray) -> dict[str, torch.Tensor]: ...


class LossModule(torch.nn.Module):
    """``agent.compute_loss`` as a module's forward, so DDP can wrap it."""

    def __init__(self, agent: OfflineAgent) -> None:
        super().__init__()
        self.agent = agent

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return self.agent.compute_loss(batch)


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warm-up then cosine decay to 10% (the schedule of nanoGPT and Diffusion Policy)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


class OfflineTrainer(Trainer):
    def __init__(
        self,
        agent: OfflineAgent,
        dataset: BatchSource,
        recipe: Recipe,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        device: torch.device,
        seed: int,
        evaluator: Evaluator | None = None,
        dist: DistInfo | None = None,
    ) -> None:
        super().__init__(
            agent.to(device), config, run_dir, logger, recipe.steps, recipe.batch_size, evaluator, dist
        )
        self.model: OfflineAgent = agent
        # The loss goes through one module, DDP-wrapped under world_size > 1 (DDP syncs gradients of
        # what its forward computed); the rank's share of each global batch is batch_size / world.
        self.loss_module: torch.nn.Module = LossModule(agent)
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            self.loss_module = DistributedDataParallel(self.loss_module, device_ids=ids)
        self.dataset = dataset
        self.recipe = recipe
        self.device = device
        self.optimizer = agent.configure_optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(recipe.warmup_steps, recipe.steps)
        )
        self.generator = torch.Generator().manual_seed(seed)
        # bf16 autocast where the device supports it; CPU stays in fp32 (bf16 matmuls are slower there).
        self.autocast = device.type == "cuda"

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.generator.set_state(payload["generator"])

    def set_mode(self, training: bool) -> None:
        self.model.train(training)

    def log_extras(self) -> dict[str, float]:
        return {"lr": float(self.scheduler.get_last_lr()[0])}

    def train_step(self) -> dict[str, float]:
        # Every rank draws the same global batch (a shared generator) and trains on its share.
        idx = torch.randint(len(self.dataset), (self.recipe.batch_size,), generator=self.generator)
        idx = idx[self.dist.rank :: self.dist.world]
        batch = self.dataset.sample_batch(idx.numpy())
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, metrics = self.loss_module(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.recipe.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
            metrics["grad_norm"] = float(grad_norm.item())
        self.optimizer.step()
        self.scheduler.step()
        self.model.after_optimizer_step()  # e.g. EMA weights; a no-op for most agents
        return metrics
