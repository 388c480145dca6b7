"""A probabilistic ensemble dynamics model (PETS, Chua et al. 2018), trained on the agent's replay.

Each member maps (state, action) to a Gaussian over the state *delta* (and the reward, when learned):
mean and log-variance, the log-variance softly bounded by learned ``max_logvar`` / ``min_logvar``
(kept from collapsing or exploding on unseen inputs). Inputs and targets are normalised with
statistics refit on every update (buffers: saved with the weights). Training: Gaussian NLL, every
member on its own bootstrap of the training split; a held-out split stops the fit early and ranks
the members, whose best ``elites`` the planner uses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.model_based.config import EnsembleConfig
from foundation.ensemble import EnsembleMLP
from foundation.normalizer import Normalizer


class DynamicsEnsemble(nn.Module):
    elites: torch.Tensor

    def __init__(self, state_dim: int, action_dim: int, config: EnsembleConfig, learn_reward: bool) -> None:
        super().__init__()
        self.config = config
        self.state_dim, self.action_dim = state_dim, action_dim
        self.out_dim = state_dim + int(learn_reward)
        e = config.members
        self.net = EnsembleMLP(
            e, state_dim + action_dim, 2 * self.out_dim, config.hidden_dims, config.activation
        )
        self.max_logvar = nn.Parameter(torch.full((1, 1, self.out_dim), 0.5))
        self.min_logvar = nn.Parameter(torch.full((1, 1, self.out_dim), -10.0))
        self.in_norm = Normalizer.identity((state_dim + action_dim,))
        self.out_norm = Normalizer.identity((self.out_dim,))
        self.register_buffer("elites", torch.arange(config.elites))

    # ------------------------------------------------------------------------------------ model
    def forward(
        self, x: torch.Tensor, members: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised-target Gaussian of raw inputs ``x`` (M, N, S+A) for ``members`` (M,) (all: M=E):
        mean and log-variance, each (M, N, out)."""
        mean, logvar = self.net(self.in_norm(x), members).chunk(2, dim=-1)
        logvar = self.max_logvar - nn.functional.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + nn.functional.softplus(logvar - self.min_logvar)
        return mean, logvar

    def sample(
        self, states: torch.Tensor, actions: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step of trajectory sampling through the elites: ``states`` (K, M, S) and ``actions``
        (K, M, A), row k propagated by elite k, with standard normal ``noise`` (K, M, out). Returns
        next states (K, M, S) and, with a learned reward, rewards (K, M)."""
        members = None if len(self.elites) == self.config.members else self.elites  # all: no weight gather
        mean, logvar = self(torch.cat([states, actions], dim=-1), members)
        draw = mean + noise * (0.5 * logvar).exp()
        out = self.out_norm.unnormalize(draw)
        next_states = states + out[..., : self.state_dim]
        return next_states, (out[..., self.state_dim] if self.out_dim > self.state_dim else None)

    # --------------------------------------------------------------------------------- training
    def fit(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
    ) -> dict[str, float]:
        """Refit on every transition so far: ``inputs`` (N, S+A), ``targets`` (N, out) raw deltas (and
        rewards). Returns the held-out MSE of the elites and the training NLL."""
        cfg = self.config
        n = inputs.shape[0]
        perm = torch.randperm(n, generator=generator)
        n_hold = min(cfg.max_holdout, max(1, int(n * cfg.holdout_ratio))) if n > 1 else 0
        hold, train = perm[:n_hold], perm[n_hold:]
        self._fit_normalizers(inputs[train], targets[train])
        best = torch.full((cfg.members,), math.inf)
        best_net = {k: v.detach().clone() for k, v in self.net.state_dict().items()}  # each (E, ...)
        since, steps, nll = 0, 0, math.nan
        batches = max(1, math.ceil(len(train) / cfg.batch_size))
        for _ in range(cfg.max_epochs):
            boot = train[torch.randint(len(train), (cfg.members, len(train)), generator=generator)]  # (E, Nt)
            for i in range(batches):
                idx = boot[:, i * cfg.batch_size : (i + 1) * cfg.batch_size]  # (E, b)
                loss = self._nll(inputs[idx], targets[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                nll, steps = float(loss.detach()), steps + 1
                if steps >= cfg.max_steps_per_update:
                    break
            held = self.holdout_mse(inputs[hold], targets[hold]) if n_hold else torch.zeros(cfg.members)
            improved = held < torch.where(best.isfinite(), best - 1e-4 * best.abs(), best)  # 0.01% better
            if improved.any():  # keep each member's weights of its best epoch
                best = torch.where(improved, held, best)
                for key, value in self.net.state_dict().items():
                    best_net[key][improved] = value[improved]
                since = 0
            else:
                since += 1
            if since >= cfg.patience or steps >= cfg.max_steps_per_update:
                break
        self.net.load_state_dict(best_net)
        self.elites.copy_(best.argsort()[: cfg.elites].sort().values)
        return {
            "model_nll": nll,
            "model_holdout_mse": float(best[self.elites].mean()),
            "model_steps": float(steps),
        }

    def _nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Gaussian NLL per dimension, summed over members, plus PETS' penalty that keeps the
        log-variance bounds tight."""
        mean, logvar = self(x)
        target = self.out_norm(y)
        nll = ((mean - target) ** 2 * (-logvar).exp() + logvar).mean(dim=(1, 2)).sum()
        return nll + 0.01 * (self.max_logvar.sum() - self.min_logvar.sum())

    @torch.no_grad()
    def holdout_mse(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(E,) mean squared error of each member's mean, in normalised target units."""
        mean, _ = self(x[None].expand(self.config.members, -1, -1))
        return ((mean - self.out_norm(y)) ** 2).mean(dim=(1, 2))

    @torch.no_grad()
    def _fit_normalizers(self, x: torch.Tensor, y: torch.Tensor) -> None:
        for norm, data, eps in ((self.in_norm, x, 1e-4), (self.out_norm, y, 1e-6)):
            std = data.std(0, unbiased=False) if len(data) > 1 else torch.ones(data.shape[1])
            norm.loc.copy_(data.mean(0))
            norm.scale.copy_(torch.where(std < eps, torch.ones_like(std), std))
