"""The latent world model of the TD-MPC-style agent (Hansen et al. 2022; TD-MPC2, 2024).

Observation -> latent ``z`` (SimNorm: groups of ``simnorm_dim`` entries, each a softmax, which keeps
latents bounded without a reconstruction loss), latent dynamics ``d(z, a)``, reward ``R(z, a)``, a
tanh-Gaussian policy prior ``pi(z)`` and an ensemble of Q-functions ``Q_i(z, a)`` (one batched
:class:`~foundation.ensemble.EnsembleMLP` with LayerNorm) with EMA target copies. Reward and Q heads
predict logits over symlog two-hot bins (:class:`~foundation.two_hot.TwoHot`); ``rew`` and ``q``
return their decoded values.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from agents.model_based.tdmpc_config import TDMPCConfig
from foundation.ensemble import EnsembleMLP
from foundation.two_hot import TwoHot


class SimNorm(nn.Module):
    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., L) -> (..., L)
        shape = x.shape
        return x.reshape(*shape[:-1], -1, self.group).softmax(-1).reshape(shape)


def mlp(in_dim: int, hidden: int, out_dim: int, out: nn.Module | None = None) -> nn.Sequential:
    """in -> hidden -> hidden -> out, LayerNorm + SiLU after each hidden layer (TD-MPC2's blocks with
    SiLU for Mish: Mish costs 5x more on a CPU, 0.6 vs 0.1 ms per 128x256 activation, and planning
    runs dozens of these per action). With an ``out`` activation (SimNorm) the output layer is
    LayerNorm'd too, as TD-MPC2's ``NormedLinear(act=SimNorm)``: the logits keep unit scale, so the
    SimNorm groups cannot all drift to uniform. (It does not stop an encoder that maps every input to
    the same latent; see ``TDMPCConfig.target_encoder``.)"""
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.SiLU(),
                               nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.SiLU(),
                               nn.Linear(hidden, out_dim)]  # fmt: skip
    if out is not None:
        layers += [nn.LayerNorm(out_dim), out]
    return nn.Sequential(*layers)


class WorldModel(nn.Module):
    def __init__(self, features: nn.Module, feature_dim: int, action_dim: int, cfg: TDMPCConfig) -> None:
        super().__init__()
        latent, hidden = cfg.latent_dim, cfg.hidden_dim
        self.action_dim = action_dim
        self.features = features  # observation dict -> (N, feature_dim): vectors joined, images encoded
        self.encoder = mlp(feature_dim, hidden, latent, SimNorm(cfg.simnorm_dim))
        self.dynamics = mlp(latent + action_dim, hidden, latent, SimNorm(cfg.simnorm_dim))
        self.two_hot = TwoHot(cfg.num_bins, cfg.vmin, cfg.vmax)
        self.reward = mlp(latent + action_dim, hidden, cfg.num_bins)
        self.pi = mlp(latent, hidden, 2 * action_dim)
        self.qs = EnsembleMLP(
            cfg.num_q, latent + action_dim, cfg.num_bins, (hidden, hidden), "silu", layer_norm=True
        )
        self.target_qs = copy.deepcopy(self.qs).requires_grad_(False)
        # TD-MPC (2022)'s EMA copy of the observation encoder for the consistency and TD targets: the
        # online encoder is pulled toward a slowly moving target instead of toward itself, which
        # otherwise can satisfy the consistency loss by mapping every observation to one latent.
        self.target_encoder: nn.Module | None = None
        if cfg.target_encoder:
            online = nn.Sequential(features, self.encoder)
            self.target_encoder = copy.deepcopy(online).requires_grad_(False)
        for head in (self.reward[-1], self.qs.net[-1], self.target_qs.net[-1]):
            nn.init.zeros_(head.weight)  # type: ignore[arg-type]  # uniform bins: value and reward start at 0

    def encode(self, obs: dict[str, torch.Tensor], lead: tuple[int, ...]) -> torch.Tensor:
        """``obs`` entries (prod(lead), ...) as the features module takes them -> latents (*lead, L)."""
        return self.encoder(self.features(obs)).reshape(*lead, -1)

    def encode_target(self, obs: dict[str, torch.Tensor], lead: tuple[int, ...]) -> torch.Tensor:
        """As :meth:`encode` with the EMA encoder where there is one (targets of the losses)."""
        if self.target_encoder is None:
            return self.encode(obs, lead)
        return self.target_encoder(obs).reshape(*lead, -1)

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:  # (..., L), (..., A) -> (..., L)
        return self.dynamics(torch.cat([z, a], dim=-1))

    def reward_logits(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:  # -> (..., K)
        return self.reward(torch.cat([z, a], dim=-1))

    def rew(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:  # -> (...)
        return self.two_hot.decode(self.reward_logits(z, a))

    def policy(self, z: torch.Tensor, noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """A tanh-Gaussian action (its mean when ``noise`` is None) and its log-probability:
        (..., A) and (...)."""
        mean, log_std = self.pi(z).chunk(2, dim=-1)
        log_std = -5 + 0.5 * (2 - (-5)) * (torch.tanh(log_std) + 1)  # in [-5, 2]
        eps = torch.zeros_like(mean) if noise is None else noise
        u = mean + eps * log_std.exp()
        log_prob = (-0.5 * eps**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        a = torch.tanh(u)
        log_prob = log_prob - torch.log((1 - a**2).clamp_min(1e-6)).sum(-1)  # tanh's change of variables
        return a, log_prob

    def q_logits(self, z: torch.Tensor, a: torch.Tensor, target: bool = False) -> torch.Tensor:
        """(num_q, ..., K): every Q-function's bin logits for (z, a), leading dims flattened through."""
        x = torch.cat([z, a], dim=-1)
        lead = x.shape[:-1]
        net = self.target_qs if target else self.qs
        out = net(x.reshape(1, -1, x.shape[-1]).expand(net.members, -1, -1))  # (Q, N, K)
        return out.reshape(net.members, *lead, out.shape[-1])

    def q(self, z: torch.Tensor, a: torch.Tensor, target: bool = False) -> torch.Tensor:
        """(num_q, ...): every Q-function's value of (z, a)."""
        return self.two_hot.decode(self.q_logits(z, a, target))

    @torch.no_grad()
    def update_targets(self, tau: float) -> None:
        for p, tp in zip(self.qs.parameters(), self.target_qs.parameters(), strict=True):
            tp.lerp_(p, tau)
        if self.target_encoder is not None:
            online = [*self.features.parameters(), *self.encoder.parameters()]
            for p, tp in zip(online, self.target_encoder.parameters(), strict=True):
                tp.lerp_(p, tau)
