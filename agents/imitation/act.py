"""ACT: action chunking with a conditional VAE (Zhao et al. 2023, "Learning Fine-Grained Bimanual
Manipulation with Low-Cost Hardware"), on BC's observation encoders and acting machinery.

    feats  = ObsEncoder(o[t-To+1 .. t])                               (B, To, F) -> tokens (B, To, D)
    q(z|o,a): CVAE encoder over [CLS, obs tokens, proj(a[t .. t+Ta-1])] -> CLS -> (mu, logvar)  (B, Z)
    memory = blocks([proj(z), obs tokens] + pos)                       (B, 1+To, D)
    chunk  = head(decoder(queries (Ta, D), cross-attending to memory))  (B, Ta, A)
    loss   = L1(chunk, normalise(a)) over unpadded steps + kl_weight * KL(q || N(0, I))

The latent carries what the observation cannot tell, e.g. which way around the obstacle this
demonstration went; at test time z = 0 (``latent=zero``) or z ~ N(0, I) per predicted chunk
(``latent=prior``, from the episode's seeded generator). Chunks are executed as in BC: ``execute_horizon``
steps at a time, or every step with ACT's temporal ensembling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from agents.imitation.act_config import ACTConfig
from agents.imitation.acting import RowGenerators
from agents.imitation.bc import BCAgent
from foundation.noise_schedules import standard_normal
from foundation.transformer import TransformerBlock
from foundation.vae import GaussianHead, kl_standard_normal, reparameterize


class ACTAgent(BCAgent):
    config_class = ACTConfig
    config: ACTConfig

    def __init__(
        self,
        config: ACTConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(config, obs_spec, action_spec, stats)
        self._generators = RowGenerators()

    def build_head(self) -> None:
        cfg, d = self.config, self.config.d_model
        to, ta = cfg.obs_horizon, cfg.action_horizon

        def blocks(n: int, cross: bool = False) -> nn.ModuleList:
            return nn.ModuleList(
                TransformerBlock(d, cfg.n_heads, dropout=cfg.dropout, causal=False, cross_attention=cross)
                for _ in range(n)
            )

        self.obs_proj = nn.Linear(self.encoder.feature_dim, d)
        # CVAE encoder (posterior): used in training only.
        self.action_proj = nn.Linear(self.action_dim, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.posterior_pos = nn.Parameter(torch.randn(1, 1 + to + ta, d) * 0.02)
        self.posterior_blocks = blocks(cfg.encoder_layers)
        self.posterior_norm = nn.LayerNorm(d)
        self.posterior = GaussianHead(d, cfg.latent_dim)
        # Decoder: memory = [z, obs tokens] through self-attention; queries cross-attend to it.
        self.latent_proj = nn.Linear(cfg.latent_dim, d)
        self.memory_pos = nn.Parameter(torch.randn(1, 1 + to, d) * 0.02)
        self.memory_blocks = blocks(cfg.decoder_layers)
        self.queries = nn.Parameter(torch.randn(1, ta, d) * 0.02)
        self.decoder_blocks = blocks(cfg.decoder_layers, cross=True)
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, self.action_dim))

    # ------------------------------------------------------------------------------------ networks
    def encode_posterior(
        self, obs_tokens: torch.Tensor, chunk: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """obs tokens (B, To, D), normalised chunk (B, Ta, A) -> (mu, logvar), each (B, Z)."""
        cls = self.cls.expand(obs_tokens.shape[0], -1, -1)  # (B, 1, D)
        x = (
            torch.cat([cls, obs_tokens, self.action_proj(chunk)], dim=1) + self.posterior_pos
        )  # (B, 1+To+Ta, D)
        for block in self.posterior_blocks:
            x = block(x)
        return self.posterior(self.posterior_norm(x[:, 0]))  # (B, Z) each

    def decode(self, obs_tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """obs tokens (B, To, D), latent (B, Z) -> normalised chunk (B, Ta, A)."""
        memory = (
            torch.cat([self.latent_proj(z)[:, None], obs_tokens], dim=1) + self.memory_pos
        )  # (B, 1+To, D)
        for block in self.memory_blocks:
            memory = block(memory)
        x = self.queries.expand(z.shape[0], -1, -1)  # (B, Ta, D)
        for block in self.decoder_blocks:
            x = block(x, memory)
        return self.head(x)  # (B, Ta, A)

    def forward(self, obs: dict[str, torch.Tensor], z: torch.Tensor | None = None) -> torch.Tensor:
        """obs[``obs/<key>``] (B, To, ...) -> normalised chunk (B, Ta, A) decoded from ``z`` (B, Z);
        z None: the prior's mean, 0."""
        tokens = self.obs_proj(self.encoder(obs))  # (B, To, D)
        if z is None:
            z = torch.zeros(tokens.shape[0], self.config.latent_dim, device=tokens.device)
        return self.decode(tokens, z)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        tokens = self.obs_proj(self.encoder(batch))  # (B, To, D)
        actions, valid = batch["action"], ~batch["action_is_pad"]  # (B, Ta, A), (B, Ta)
        target = self.action_norm.normalize(actions.float()) * valid[..., None]  # padding reads as 0
        mu, logvar = self.encode_posterior(tokens, target)
        pred = self.decode(tokens, reparameterize(mu, logvar))  # (B, Ta, A)
        recon, info = self.chunk_loss(pred, actions, valid, l1=True)
        kl = kl_standard_normal(mu, logvar).mean()
        loss = recon + self.config.kl_weight * kl
        return loss, {
            **info,
            "loss": float(loss.detach()),
            "recon": float(recon.detach()),
            "kl": float(kl.detach()),
        }

    # -------------------------------------------------------------------------------------- acting
    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._generators.reset(seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        """Forget the restarted envs' history and chunks; reseed their latent draws from ``seeds``."""
        super().reset_envs(mask, seeds)
        self._generators.reset_envs(mask, seeds)

    def act_forward(self, inputs: dict[str, torch.Tensor], rows: np.ndarray) -> torch.Tensor:
        """z = 0, or with ``latent=prior`` a fresh z ~ N(0, I) per chunk from each row's episode generator."""
        if self.config.latent == "zero":
            return self(inputs)
        shape = (int(rows.sum()), self.config.latent_dim)
        z = standard_normal(shape, self._generators.for_rows(rows))  # (n, Z)
        return self(inputs, z.to(next(self.parameters()).device))
