"""Discriminators of adversarial imitation, over batches of transitions (numpy or torch dicts):
``s`` (N, S) states, ``a`` (N, A) actions, ``s_next`` (N, S) the states reached, ``done`` (N,) 1 where
the episode terminated there (a time-limit cut is not an end), ``logp`` (N,) log pi(a|s) of the
current policy (AIRL only). Expert transitions are labelled 1.

GAIL (Ho & Ermon 2016):
    D = sigmoid(f(s, a)),   reward = -log(1 - D) = softplus(f(s, a))                (> 0)
AIRL (Fu et al. 2018), a reward of the state alone, disentangled from the dynamics by shaping:
    f = g(s) + gamma (1 - done) h(s') - h(s),   D = sigmoid(f - log pi(a|s)),
    reward = log D - log(1 - D) = f - log pi(a|s),   recovered reward = g(s)

Both: BCE on the logits + ``gradient_penalty`` * E[(||grad f(x_hat)|| - 1)^2] on random interpolates
of the normalised expert and policy inputs (a raw entry with a millimetre spread would otherwise
dominate the gradient). Inputs are normalised with the expert data's statistics (buffers, saved).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foundation.mlp import MLP
from foundation.normalizer import Normalizer


def _normalizer(x: np.ndarray) -> Normalizer:
    x = x.astype(np.float64)
    # from_stats leaves a constant entry (Reach's gripper action) unscaled instead of dividing by 0
    return Normalizer.from_stats({"mean": x.mean(0).tolist(), "std": x.std(0).tolist()})


def _tensors(batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(v), dtype=torch.float32) for k, v in batch.items()}


class AdversarialDiscriminator(nn.Module):
    """What GAIL's and AIRL's discriminators share: the loss on logits, the penalty, the reward."""

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The normalised inputs f reads (the penalty interpolates these)."""
        raise NotImplementedError

    def f(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(N,) f from normalised inputs ``z`` (and the batch's other entries)."""
        raise NotImplementedError

    def logits(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.f(z, batch)

    def loss(
        self, expert: Mapping[str, torch.Tensor], policy: Mapping[str, torch.Tensor], gradient_penalty: float,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
        """Expert and policy transitions, as many of each."""
        z_e, z_p = self.inputs(expert), self.inputs(policy)
        l_e, l_p = self.logits(z_e, expert), self.logits(z_p, policy)
        bce = F.binary_cross_entropy_with_logits(l_e, torch.ones_like(l_e))
        bce = bce + F.binary_cross_entropy_with_logits(l_p, torch.zeros_like(l_p))
        loss, penalty = bce, torch.zeros(())
        if gradient_penalty > 0:
            mix = torch.rand(len(z_e), 1, generator=generator)
            z_hat = (mix * z_e + (1 - mix) * z_p).detach().requires_grad_(True)
            mixed = {k: mix[:, 0] * expert[k] + (1 - mix[:, 0]) * policy[k] for k in ("done",) if k in expert}
            (grad,) = torch.autograd.grad(self.f(z_hat, mixed).sum(), z_hat, create_graph=True)
            penalty = ((grad.norm(dim=-1) - 1) ** 2).mean()
            loss = loss + gradient_penalty * penalty
        accuracy = 0.5 * (float((l_e > 0).float().mean()) + float((l_p < 0).float().mean()))
        return loss, {"disc_loss": float(bce.detach()), "disc_accuracy": accuracy,
                      "disc_penalty": float(penalty.detach())}  # fmt: skip

    @torch.no_grad()
    def reward(self, batch: Mapping[str, Any]) -> np.ndarray:
        """(N,) float32 rewards for the policy."""
        raise NotImplementedError


class Discriminator(AdversarialDiscriminator):
    """GAIL's D(s, a)."""

    def __init__(self, state_dim: int, action_dim: int, hidden_dims: Sequence[int]) -> None:
        super().__init__()
        self.norm = Normalizer.identity((state_dim + action_dim,))
        self.net = MLP(state_dim + action_dim, 1, hidden_dims, activation="tanh", layer_norm=False)

    def set_stats(self, states: np.ndarray, actions: np.ndarray) -> None:
        self.norm = _normalizer(np.concatenate([states, actions], axis=1))

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.norm.normalize(torch.cat([batch["s"], batch["a"]], dim=-1))

    def f(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(z).squeeze(-1)

    @torch.no_grad()
    def reward(self, batch: Mapping[str, Any]) -> np.ndarray:
        t = _tensors(batch)
        return F.softplus(self.f(self.inputs(t), t)).numpy().astype(np.float32)


class AIRLDiscriminator(AdversarialDiscriminator):
    """AIRL's f = g(s) + gamma (1 - done) h(s') - h(s), with ``g`` the recovered reward."""

    def __init__(self, state_dim: int, hidden_dims: Sequence[int], gamma: float) -> None:
        super().__init__()
        self.state_dim, self.gamma = state_dim, gamma
        self.norm = Normalizer.identity((state_dim,))
        self.g = MLP(state_dim, 1, hidden_dims, activation="tanh", layer_norm=False)
        self.h = MLP(state_dim, 1, hidden_dims, activation="tanh", layer_norm=False)

    def set_stats(self, states: np.ndarray, actions: np.ndarray | None = None) -> None:
        self.norm = _normalizer(states)

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.norm.normalize(batch["s"]), self.norm.normalize(batch["s_next"])], dim=-1)

    def f(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        z_s, z_next = z[:, : self.state_dim], z[:, self.state_dim :]
        live = 1.0 - batch["done"] if "done" in batch else torch.ones(len(z))
        return (self.g(z_s) + self.gamma * live[:, None] * self.h(z_next) - self.h(z_s)).squeeze(-1)

    def logits(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.f(z, batch) - batch["logp"]

    @torch.no_grad()
    def reward(self, batch: Mapping[str, Any]) -> np.ndarray:
        t = _tensors(batch)
        return self.logits(self.inputs(t), t).numpy().astype(np.float32)

    @torch.no_grad()
    def shaped(self, batch: Mapping[str, Any]) -> np.ndarray:
        """(N,) float32: f = g(s) + gamma (1 - done) h(s') - h(s) of transitions (no policy term)."""
        t = _tensors(batch)
        return self.f(self.inputs(t), t).numpy().astype(np.float32)

    @torch.no_grad()
    def recovered(self, states: np.ndarray) -> np.ndarray:
        """(N, S) -> (N,) float32: g(s), the reward AIRL recovers (a function of the state alone)."""
        s = torch.as_tensor(np.asarray(states), dtype=torch.float32)
        return self.g(self.norm.normalize(s)).squeeze(-1).numpy().astype(np.float32)
