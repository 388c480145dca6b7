"""The offline (imitation) training loop: one loop for every agent that learns from a dataset.

The agent brings ``compute_loss(batch) -> (loss, metrics)`` and ``configure_optimizer()``; this loop
owns batching, the learning-rate schedule, gradient clipping, mixed precision on GPUs, logging,
checkpoints and periodic evaluation. Batches are drawn with a seeded ``torch.Generator`` whose state
is checkpointed, so a resumed run draws exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from workbench.checkpoint import save_checkpoint, set_rng_state
from workbench.config import TrainerConfig
from workbench.logger import Logger
from workbench.progress import ProgressBar


@dataclass
class Recipe:
    """The agent's optimisation recipe (from its config)."""

    steps: int
    batch_size: int
    warmup_steps: int
    grad_clip: float


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warm-up then cosine decay to 10% (the schedule of nanoGPT and Diffusion Policy)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


class OfflineTrainer:
    def __init__(
        self,
        agent: Any,
        dataset: Any,
        recipe: Recipe,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        device: torch.device,
        seed: int,
        evaluator: Callable[[int], dict[str, float]] | None = None,
    ) -> None:
        self.agent = agent.to(device)
        self.dataset = dataset
        self.recipe = recipe
        self.config = config
        self.run_dir = run_dir
        self.logger = logger
        self.device = device
        self.evaluator = evaluator
        self.optimizer = agent.configure_optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(recipe.warmup_steps, recipe.steps)
        )
        self.generator = torch.Generator().manual_seed(seed)
        self.step = 0
        self.best_success = -1.0
        # bf16 autocast where the device supports it; CPU stays in fp32 (bf16 matmuls are slower there).
        self.autocast = device.type == "cuda"

    # ------------------------------------------------------------------------------ checkpointing
    def state(self) -> dict[str, Any]:
        return {
            "model": self.agent.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "best_success": self.best_success,
        }

    def load_state(self, payload: dict[str, Any]) -> None:
        self.agent.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.generator.set_state(payload["generator"])
        self.best_success = float(payload.get("best_success", -1.0))
        self.step = int(payload["step"])
        set_rng_state(payload["rng"])

    def save(self, extra: dict[str, Any]) -> None:
        save_checkpoint(
            self.run_dir, self.step, {**self.state(), **extra}, keep=self.config.keep_checkpoints
        )

    # ----------------------------------------------------------------------------------- training
    def train_step(self) -> dict[str, float]:
        idx = torch.randint(len(self.dataset), (self.recipe.batch_size,), generator=self.generator)
        batch = self.dataset.sample_batch(idx.numpy())
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, metrics = self.agent.compute_loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.recipe.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.agent.parameters(), self.recipe.grad_clip)
            metrics["grad_norm"] = float(grad_norm.item())
        self.optimizer.step()
        self.scheduler.step()
        if hasattr(self.agent, "after_optimizer_step"):  # e.g. EMA weights
            self.agent.after_optimizer_step()
        return metrics

    def fit(self, extra: dict[str, Any]) -> None:
        """Train from ``self.step`` to ``recipe.steps``; ``extra`` goes into every checkpoint."""
        self.agent.train()
        window: dict[str, float] = {}
        count = 0
        tic = time.perf_counter()
        with ProgressBar("train", self.recipe.steps, self.step, self.config.progress) as bar:
            while self.step < self.recipe.steps:
                metrics = self.train_step()
                self.step += 1
                count += 1
                for key, value in metrics.items():
                    window[key] = window.get(key, 0.0) + value
                if self.step % self.config.log_every == 0 or self.step == self.recipe.steps:
                    elapsed = time.perf_counter() - tic
                    means = {k: v / count for k, v in window.items()}
                    means["lr"] = float(self.scheduler.get_last_lr()[0])
                    means["steps_per_s"] = count / max(elapsed, 1e-9)
                    means["samples_per_s"] = means["steps_per_s"] * self.recipe.batch_size
                    self.logger.log(self.step, means, prefix="train/")
                    bar.update(self.step, loss=means.get("loss", float("nan")))
                    window, count, tic = {}, 0, time.perf_counter()
                if self.evaluator is not None and self.config.eval_every and (
                    self.step % self.config.eval_every == 0
                ):
                    self.periodic_eval()
                if self.step % self.config.checkpoint_every == 0 or self.step == self.recipe.steps:
                    self.save(extra)
        self.agent.eval()

    def periodic_eval(self) -> None:
        """Evaluate in the env and keep the policy with the best success (not the lowest loss)."""
        assert self.evaluator is not None
        # Evaluation must not consume the training RNG, or evaluating would change the training run.
        with torch.random.fork_rng(devices=[]):
            self.agent.eval()
            results = self.evaluator(self.step)
            self.agent.train()
        self.logger.log(self.step, results, prefix="eval/")
        success = float(results.get("success_rate", 0.0))
        if success > self.best_success:
            self.best_success = success
            self.agent.save(self.run_dir / "policy_best.pt")
