"""Behaviour cloning with an MLP on low-dimensional observations.

The policy regresses normalised expert actions from normalised observations (mean-squared error),
optionally over a history of ``obs_horizon`` frames and predicting a chunk of ``action_horizon``
actions of which ``execute_horizon`` are executed before predicting again (action chunking, ACT).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.imitation.bc_config import BCConfig
from agents.policy_io import save_policy
from foundation.mlp import MLP
from foundation.normalizer import Normalizer


def _module_key(obs_key: str) -> str:
    # nn.ModuleDict keys may not contain "." and "/" reads badly in state_dict names.
    return obs_key.replace("/", "__").replace(".", "_")


class BCAgent(nn.Module):
    name = "bc"
    config_class = BCConfig

    def __init__(
        self,
        config: BCConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_spec
        missing = [k for k in config.obs_keys if k not in obs_spec]
        if missing:
            raise ValueError(
                f"agent.obs_keys {missing} are not in the observations {sorted(obs_spec)}; "
                "pick keys the env/dataset provides (set env.obs_mode to include them)"
            )
        images = [k for k in config.obs_keys if len(obs_spec[k]["shape"]) > 1]
        if images:
            raise ValueError(f"agent=bc takes low-dimensional observations only, not images {images}")
        self.obs_dims = {k: math.prod(obs_spec[k]["shape"]) for k in config.obs_keys}
        self.action_dim = int(math.prod(action_spec["shape"]))
        mode = config.normalization
        # Identity until `set_stats`; a loaded checkpoint overwrites the buffers.
        self.obs_norm = nn.ModuleDict(
            {_module_key(k): Normalizer.identity((d,), mode) for k, d in self.obs_dims.items()}  # type: ignore[arg-type]
        )
        self.action_norm = Normalizer.identity((self.action_dim,), mode)  # type: ignore[arg-type]
        if stats is not None:
            self.set_stats(stats)
        in_dim = sum(self.obs_dims.values()) * config.obs_horizon
        self.net = MLP(
            in_dim,
            config.action_horizon * self.action_dim,
            config.hidden_dims,
            config.activation,
            config.dropout,
        )
        self.low = np.asarray(action_spec.get("low", -1.0), dtype=np.float32)
        self.high = np.asarray(action_spec.get("high", 1.0), dtype=np.float32)
        self._history: dict[str, np.ndarray] = {}
        self._queue: np.ndarray | None = None  # (B, execute_horizon, A) actions still to execute
        self._queue_pos: np.ndarray | None = None  # (B,) index of the next queued action
        self._fresh: np.ndarray | None = None  # (B,) rows whose episode just started

    # ----------------------------------------------------------------------------------- training
    def set_stats(self, stats: dict[str, Any]) -> None:
        """``stats`` as :attr:`SequenceDataset.stats` gives them: keyed ``obs/<key>`` and ``action``."""
        mode = self.config.normalization
        for key in self.obs_dims:
            if f"obs/{key}" not in stats:
                raise ValueError(f"dataset statistics have no entry for observation {key!r}")
            self.obs_norm[_module_key(key)] = Normalizer.from_stats(stats[f"obs/{key}"], mode)  # type: ignore[arg-type]
        self.action_norm = Normalizer.from_stats(stats["action"], mode)  # type: ignore[arg-type]

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """obs[``obs/<key>``]: (B, To, D) -> normalised action chunk (B, Ta, A)."""
        feats = []
        for key in self.obs_dims:
            x = obs[f"obs/{key}"].float().flatten(2)  # (B, To, D)
            feats.append(self.obs_norm[_module_key(key)].normalize(x))  # type: ignore[operator]
        x = torch.cat(feats, dim=-1).flatten(1)  # (B, To * sum(D))
        return self.net(x).view(-1, self.config.action_horizon, self.action_dim)  # (B, Ta, A)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        pred = self(batch)  # (B, Ta, A)
        target = self.action_norm.normalize(batch["action"].float())  # (B, Ta, A)
        valid = (~batch["action_is_pad"]).float().unsqueeze(-1)  # (B, Ta, 1): padded steps don't count
        mse = ((pred - target) ** 2 * valid).sum() / (valid.sum() * self.action_dim).clamp_min(1.0)
        return mse, {"loss": float(mse.detach())}

    def configure_optimizer(self) -> torch.optim.Optimizer:
        # No weight decay on biases and norm parameters (nanoGPT's grouping).
        decay = [p for p in self.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=self.config.lr)

    # -------------------------------------------------------------------------------------- acting
    def reset(self, seed: int | None = None) -> None:
        self._history = {}
        self._queue = None
        self._queue_pos = None
        self._fresh = None

    def reset_envs(self, mask: np.ndarray) -> None:
        """Forget history and queued actions of the envs in ``mask`` (their episodes restarted)."""
        if self._fresh is not None:
            self._fresh |= mask
        if self._queue_pos is not None:
            self._queue_pos[mask] = self.config.execute_horizon

    def _update_history(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        horizon = self.config.obs_horizon
        batch = next(iter(obs.values())).shape[0]
        if self._fresh is None or self._fresh.shape[0] != batch or not self._history:
            self._history = {k: np.repeat(obs[k][:, None], horizon, axis=1) for k in self.obs_dims}
            self._fresh = np.zeros(batch, dtype=bool)
            return self._history
        for key in self.obs_dims:
            hist = np.roll(self._history[key], -1, axis=1)  # (B, To, D), oldest first
            hist[:, -1] = obs[key]
            # A restarted episode is padded with its first observation, as the dataset loader pads.
            hist[self._fresh] = obs[key][self._fresh, None]
            self._history[key] = hist
        self._fresh[:] = False
        return self._history

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched observations -> (B, A) actions in the env's action range."""
        history = self._update_history(obs)
        batch = next(iter(history.values())).shape[0]
        execute = self.config.execute_horizon
        if self._queue is None or self._queue_pos is None or self._queue.shape[0] != batch:
            self._queue = np.zeros((batch, execute, self.action_dim), dtype=np.float32)
            self._queue_pos = np.full(batch, execute)
        need = self._queue_pos >= execute
        if need.any():
            device = next(self.parameters()).device
            inputs = {f"obs/{k}": torch.as_tensor(v, device=device) for k, v in history.items()}
            was_training = self.training
            self.eval()
            chunk = self.action_norm.unnormalize(self(inputs))[:, :execute]  # (B, Te, A)
            self.train(was_training)
            self._queue[need] = chunk.cpu().numpy()[need]
            self._queue_pos[need] = 0
        action = self._queue[np.arange(batch), self._queue_pos]  # (B, A)
        self._queue_pos += 1
        return np.clip(action, self.low, self.high).astype(np.float32)

    # ------------------------------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> None:
        save_policy(self, path)
