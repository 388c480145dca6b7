"""The discriminator of adversarial imitation: D(s, a) = sigmoid(f(s, a)), expert pairs labelled 1.

    loss   = BCE(f(s_E, a_E), 1) + BCE(f(s_pi, a_pi), 0) + lambda E[(||grad f(x_hat)|| - 1)^2]
    reward = -log(1 - D(s, a)) = softplus(f(s, a))       (GAIL's reward: > 0, larger where D says expert)

States and actions are normalised with the expert data's statistics (a buffer of the module, saved
with it); x_hat are random interpolates of the normalised expert and policy inputs (the penalty).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foundation.mlp import MLP
from foundation.normalizer import Normalizer


class Discriminator(nn.Module):
    def __init__(self, state_dim: int, action_dim: int, hidden_dims: Sequence[int]) -> None:
        super().__init__()
        self.norm = Normalizer.identity((state_dim + action_dim,))
        self.net = MLP(state_dim + action_dim, 1, hidden_dims, activation="tanh", layer_norm=False)

    def set_stats(self, states: np.ndarray, actions: np.ndarray) -> None:
        x = np.concatenate([states, actions], axis=1).astype(np.float64)
        # from_stats leaves a constant entry (Reach's gripper action) unscaled instead of dividing by 0
        self.norm = Normalizer.from_stats({"mean": x.mean(0).tolist(), "std": x.std(0).tolist()})

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, S + A) raw [state, action] -> (N,) logits f."""
        return self.net(self.norm.normalize(x)).squeeze(-1)

    def loss(
        self, expert: torch.Tensor, policy: torch.Tensor, gradient_penalty: float, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """expert, policy: (N, S + A) raw pairs (as many of each). The penalty is on the gradient in
        normalised inputs (a raw entry with a millimetre spread would otherwise dominate it)."""
        z_e, z_p = self.norm.normalize(expert), self.norm.normalize(policy)
        f_e, f_p = self.net(z_e).squeeze(-1), self.net(z_p).squeeze(-1)
        bce = F.binary_cross_entropy_with_logits(
            f_e, torch.ones_like(f_e)
        ) + F.binary_cross_entropy_with_logits(f_p, torch.zeros_like(f_p))
        loss = bce
        penalty = torch.zeros(())
        if gradient_penalty > 0:
            mix = torch.rand(len(expert), 1, generator=generator)
            z_hat = (mix * z_e + (1 - mix) * z_p).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.net(z_hat).sum(), z_hat, create_graph=True)
            penalty = ((grad.norm(dim=-1) - 1) ** 2).mean()
            loss = loss + gradient_penalty * penalty
        accuracy = 0.5 * (float((f_e > 0).float().mean()) + float((f_p < 0).float().mean()))
        return loss, {"disc_loss": float(bce.detach()), "disc_accuracy": accuracy,
                      "disc_penalty": float(penalty.detach())}  # fmt: skip

    @torch.no_grad()
    def reward(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(N, S), (N, A) -> (N,) float32 GAIL rewards softplus(f) = -log(1 - D)."""
        x = torch.as_tensor(
            np.concatenate([states, actions.reshape(len(states), -1)], axis=1), dtype=torch.float32
        )
        return F.softplus(self.logits(x)).numpy().astype(np.float32)
