"""Transformer blocks: causal self-attention (+ optional cross-attention), and two models built on them.

* ``TransformerBlock`` - pre-LayerNorm block (GPT-2 / nanoGPT layout): ``x + attn(ln(x))``, then
  optionally ``x + cross_attn(ln(x), memory)``, then ``x + mlp(ln(x))``.
* ``CausalTransformer`` - a sequence model over an observation history ``(B, T, in_dim) ->
  (B, T, out_dim)``; position t sees steps <= t only (used by ``bc_transformer``).
* ``TransformerDenoiser`` - the transformer option of Diffusion Policy (Chi et al. 2023, sec. 3.2,
  "time-series diffusion transformer"): noisy action tokens, causal self-attention among them,
  cross-attention to condition tokens (the diffusion step and the per-step observation features).

Attention uses ``F.scaled_dot_product_attention``, which picks a fused kernel where one exists.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from foundation.embeddings import SinusoidalPosEmb


class MultiHeadAttention(nn.Module):
    """Multi-head attention of queries ``x`` (B, T, D) over ``context`` (B, S, D) (self-attention if None)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        causal: bool = False,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        ctx = x if context is None else context
        s = ctx.shape[1]
        hs = d // self.n_heads
        q = self.q(x).view(b, t, self.n_heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        k, v = self.kv(ctx).split(d, dim=-1)
        k = k.view(b, s, self.n_heads, hs).transpose(1, 2)  # (B, nh, S, hs)
        v = v.view(b, s, self.n_heads, hs).transpose(1, 2)  # (B, nh, S, hs)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal and attn_mask is None,
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(b, t, d)  # (B, T, D)
        return self.resid_dropout(self.out(y))


class TransformerBlock(nn.Module):
    """Pre-LN transformer block. ``(B, T, D) -> (B, T, D)``.

    Args:
        d_model: D.  n_heads: attention heads (D must be divisible).
        mlp_ratio: hidden width of the MLP as a multiple of D.  dropout: on attention and MLP.
        causal: position t attends to positions <= t only.
        cross_attention: add a cross-attention layer over ``memory`` (B, S, D) given to ``forward``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        causal: bool = True,
        cross_attention: bool = False,
    ) -> None:
        super().__init__()
        self.causal = causal
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ln_cross: nn.Module | None = nn.LayerNorm(d_model) if cross_attention else None
        self.cross: MultiHeadAttention | None = (
            MultiHeadAttention(d_model, n_heads, dropout) if cross_attention else None
        )
        hidden = int(d_model * mlp_ratio)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model), nn.Dropout(dropout)
        )

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``attn_mask`` (B, 1, T, T) / ``memory_mask`` (B, 1, T, S): True where a query may attend
        (e.g. not to padding); with ``attn_mask`` a causal block must fold causality into it."""
        x = x + self.attn(self.ln1(x), causal=self.causal, attn_mask=attn_mask)  # (B, T, D)
        if self.cross is not None:
            if memory is None:
                raise ValueError("this block has cross-attention: pass memory=(B, S, D)")
            assert self.ln_cross is not None
            x = x + self.cross(self.ln_cross(x), context=memory, attn_mask=memory_mask)  # (B, T, D)
        return x + self.mlp(self.ln2(x))  # (B, T, D)


class CausalTransformer(nn.Module):
    """GPT-style sequence model: ``(B, T, in_dim) -> (B, T, out_dim)``, T <= ``max_len``.

    Inputs are projected to ``d_model``, get a learned position embedding, pass ``n_layers`` causal
    blocks and a final LayerNorm and linear head. Output t depends on inputs 0..t only, so a
    policy reads its action (chunk) for the current step from the last position.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        max_len: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.max_len = max_len
        self.inp = nn.Linear(in_dim, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, dropout=dropout, causal=True) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, out_dim)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len={self.max_len}")
        h = self.drop(self.inp(x) + self.pos[:, :t])  # (B, T, D)
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h))  # (B, T, out_dim)


class TransformerDenoiser(nn.Module):
    """Noise predictor ``eps(a_k, k, obs)`` over an action chunk: ``(B, Ta, A) -> (B, Ta, A)``.

    Condition tokens: one for the diffusion step k (sinusoidal embedding), one per observation step
    (``cond`` of shape (B, To, cond_dim), e.g. concatenated per-step observation features); they
    pass a small MLP encoder. Action tokens get learned positions, then ``n_layers`` blocks of
    causal self-attention + cross-attention to the condition tokens (Chi et al. 2023's design).
    """

    def __init__(
        self,
        action_dim: int,
        horizon: int,
        cond_dim: int,
        n_cond_steps: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.horizon = horizon
        self.n_cond_steps = n_cond_steps
        self.inp = nn.Linear(action_dim, d_model)
        self.pos = nn.Parameter(torch.zeros(1, horizon, d_model))
        self.cond_inp = nn.Linear(cond_dim, d_model)
        self.step_emb = nn.Sequential(SinusoidalPosEmb(d_model), nn.Linear(d_model, d_model))
        self.cond_pos = nn.Parameter(torch.zeros(1, 1 + n_cond_steps, d_model))
        self.cond_encoder = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.Mish(), nn.Linear(4 * d_model, d_model)
        )
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, dropout=dropout, causal=True, cross_attention=True)
            for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, action_dim)
        nn.init.normal_(self.pos, std=0.02)
        nn.init.normal_(self.cond_pos, std=0.02)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """sample (B, Ta, A), timestep (B,) or scalar, cond (B, To, cond_dim) -> (B, Ta, A)."""
        b, t, _ = sample.shape
        if t > self.horizon:
            raise ValueError(f"action horizon {t} exceeds the denoiser's horizon {self.horizon}")
        k = torch.as_tensor(timestep, device=sample.device).expand(b)  # (B,)
        tokens = torch.cat([self.step_emb(k)[:, None], self.cond_inp(cond)], dim=1)  # (B, 1+To, D)
        memory = self.cond_encoder(tokens + self.cond_pos[:, : tokens.shape[1]])  # (B, 1+To, D)
        h = self.drop(self.inp(sample) + self.pos[:, :t])  # (B, Ta, D)
        for block in self.blocks:
            h = block(h, memory)
        return self.head(self.ln_f(h))  # (B, Ta, A)
