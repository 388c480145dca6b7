"""pi0 style VLA (Black et al. 2024): one transformer over image patches, instruction tokens and
proprioception (the "VLM" prefix), and an action expert that predicts an action chunk by flow matching.

    prefix  = Transformer([image tokens (To*n), instruction tokens (L), proprio (1), summary (1)])
              bidirectional, instruction padding masked                                    (B, S, D)
    expert  = E blocks over Ta noisy-action tokens (width De): self-attention among the chunk and
              cross-attention to the prefix, the flow time t added to every token           (B, Ta, De)
    v       = Linear(expert)                                                                (B, Ta, A)
    loss    = || v(x_t, t) - (a - eps) ||^2,  x_t = (1 - t) eps + t a,  a normalised      (+ grounding)

pi0 shares attention layers between prefix and expert (each expert layer reads the prefix's keys and
values of the same depth); here the expert reads the prefix's final states, a decoder-style
simplification that lets acting compute the prefix once and run only the small expert ``flow_steps``
times. Acting integrates from noise with Euler steps (``foundation.flow_matching``); the noise comes
from a generator per episode seed, so an episode's actions do not depend on its neighbours.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.vla.base import VLABase
from agents.vla.config import Pi0Config
from agents.vla.vision import ConvTokenizer
from foundation.embeddings import SinusoidalPosEmb
from foundation.flow_matching import euler_sample, interpolate, sample_time, target_velocity
from foundation.noise_schedules import standard_normal
from foundation.transformer import TransformerBlock


class Pi0Agent(VLABase):
    config: Pi0Config

    def build(self) -> None:
        c = self.config
        self.tokenizer = ConvTokenizer(c.widths, c.d_model, self.crop_hw)
        self.type_embed = nn.Parameter(torch.zeros(4, c.d_model))  # image, text, proprio, summary
        self.summary = nn.Parameter(torch.randn(1, 1, c.d_model) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(c.d_model, c.n_heads, dropout=c.dropout, causal=False)
                                    for _ in range(c.n_layers))  # fmt: skip
        self.norm = nn.LayerNorm(c.d_model)
        de = c.expert_d_model
        self.memory_proj = nn.Linear(c.d_model, de)
        self.action_in = nn.Linear(self.action_dim, de)
        self.chunk_pos = nn.Parameter(torch.randn(1, c.action_horizon, de) * 0.02)
        self.time_embed = nn.Sequential(SinusoidalPosEmb(de), nn.Linear(de, de), nn.SiLU(), nn.Linear(de, de))
        self.expert = nn.ModuleList(
            TransformerBlock(de, c.n_heads, dropout=c.dropout, causal=False, cross_attention=True)
            for _ in range(c.expert_layers)
        )
        self.expert_norm = nn.LayerNorm(de)
        # agent.grounded: the predicted positions and proprio join the expert's memory as one more token.
        self.ground_proj = nn.Linear(self.grounding_dim, de) if c.grounded else None
        self.velocity_out = nn.Linear(de, self.action_dim)

    def prefix(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(prefix states (B, S, D), key mask (B, S): False at instruction padding)."""
        words, word_mask, _ = self.text(self.texts_of(batch))  # (B, L, D), (B, L)
        b = words.shape[0]
        image = (
            self.with_frames(self.tokenizer(self.images_of(batch)), b) + self.type_embed[0]
        )  # (B, To*n, D)
        parts = [image, words + self.type_embed[1]]
        masks = [torch.ones(image.shape[:2], dtype=torch.bool, device=image.device), word_mask]
        low = self.low_token(batch)
        if low is not None:
            parts.append(low + self.type_embed[2])
            masks.append(torch.ones(b, 1, dtype=torch.bool, device=image.device))
        parts.append(self.summary.expand(b, -1, -1) + self.type_embed[3])
        masks.append(torch.ones(b, 1, dtype=torch.bool, device=image.device))
        x, mask = torch.cat(parts, dim=1), torch.cat(masks, dim=1)  # (B, S, D), (B, S)
        attn = mask[:, None, None, :]  # (B, 1, 1, S): every token attends to the real ones
        for block in self.blocks:
            x = block(x, attn_mask=attn)
        return self.norm(x), mask

    def velocity(
        self, x: torch.Tensor, t: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """The expert: noisy normalised chunk x (B, Ta, A) at flow time t (B,) -> velocity (B, Ta, A)."""
        h = self.action_in(x) + self.chunk_pos + self.time_embed(t)[:, None]  # (B, Ta, De)
        memory_mask = mask[:, None, None, :]  # (B, 1, 1, S)
        for block in self.expert:
            h = block(h, memory=memory, memory_mask=memory_mask)
        return self.velocity_out(self.expert_norm(h))

    def memory(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(the expert's memory (B, S', De), its key mask (B, S'), the grounding head's positions or None)."""
        states, mask = self.prefix(batch)
        pred = self.aux_predict(states[:, -1])  # from the summary token
        memory = self.memory_proj(states)  # (B, S, De)
        if self.ground_proj is not None:
            assert pred is not None  # VLAConfig: grounded needs the aux head
            memory = torch.cat([memory, self.ground_proj(self.grounding(pred, batch))[:, None]], dim=1)
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        return memory, mask, pred

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        memory, mask, ground = self.memory(batch)  # (B, S', De), (B, S) the grounding head's positions
        actions = self.action_norm.normalize(batch["action"].float())  # (B, Ta, A)
        b = actions.shape[0]
        noise = torch.randn_like(actions)
        t = sample_time(b, self.config.time_sampling, device=actions.device)  # (B,)
        pred = self.velocity(interpolate(noise, actions, t), t, memory, mask)
        valid = (~batch["action_is_pad"]).float()[..., None]  # (B, Ta, 1)
        err = (pred - target_velocity(noise, actions)) ** 2
        flow = (err * valid).sum() / (valid.sum() * self.action_dim).clamp(min=1.0)
        aux, aux_metrics = self.aux_loss(ground, batch)
        loss = flow + aux
        return loss, {"loss": float(loss.detach()), "flow_mse": float(flow.detach()), **aux_metrics}

    def predict_chunk(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | list[torch.Generator]
    ) -> torch.Tensor:
        memory, mask, _ = self.memory(batch)  # computed once per chunk
        b = memory.shape[0]
        noise = standard_normal((b, self.config.action_horizon, self.action_dim), generator).to(memory.device)
        chunk = euler_sample(lambda x, t: self.velocity(x, t, memory, mask), noise, self.config.flow_steps)
        return self.action_norm.unnormalize(chunk)  # (B, Ta, A)
