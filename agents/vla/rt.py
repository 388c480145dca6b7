"""RT-1/RT-2 style VLA: the instruction FiLM-conditions the image trunk, a transformer reads the image
tokens, and actions come out as discrete tokens, one categorical over ``bins`` per action dimension
(Brohan et al. 2022, "RT-1"; RT-2 keeps the same action tokens inside a VLM).

    text      = TextEncoder(instruction)                          tokens (B, L, D), sentence c (B, D)
    image     = ConvTokenizer(rgb | FiLM(c))                      (B, To*n, D)   n = 25 at 76x76 crops
    x         = Transformer([c, proprio, image, readout_1..Ta])   bidirectional, (B, 2 + To*n + Ta, D)
    g         = aux_head(x[c])                                    the grounding head's positions (B, S)
              | MLP(SpatialGrounding(stage maps, c))              with agent.grounding=spatial
    logits    = Linear(x[readout_k])                              (B, Ta, A, bins)
              | MLP([x[readout_k], sg(g), proprio])  with agent.grounded, g = grounding head(x[c]) (B, S)
              | MLP([sg(g), proprio]) -> (B, Ta, A, bins)  with agent.grounded_readout=false
    loss      = cross-entropy(logits, bin(a[t+k]))  (+ aux_weight * grounding MSE of g)
              | cross-entropy(logits, HL-Gauss(a[t+k]))  with agent.bin_sigma > 0

Bins are uniform over the controller's range [low, high] (RT-1's 256 per dimension). Acting takes each
dimension's most likely bin centre (``bin_decode=argmax``, RT-1) or the mean over bin centres
(``bin_decode=mean``). Unlike the regression heads of BC, a categorical can hold several modes of the
action at once; the mean gives that up for precision, which is what Tabletop's pushes and puts need.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from agents.vla.base import VLABase
from agents.vla.config import RTConfig
from agents.vla.spatial import SpatialGrounding, heatmap_loss, project, resize_projection
from agents.vla.vision import ConvTokenizer
from foundation.transformer import TransformerBlock


class Features(NamedTuple):
    """What :meth:`RTAgent.features` computes from a batch."""

    readout: torch.Tensor  # (B, Ta, D) readout states
    ground: torch.Tensor  # (B, G) what the grounding head reads
    heat: torch.Tensor | None = None  # (B, K, h, w) spatial grounding's heatmaps
    offsets: torch.Tensor | None = None  # (B, 2) the crop windows' (top, left) in frame pixels


class RTAgent(VLABase):
    config: RTConfig

    def build(self) -> None:
        c = self.config
        self.tokenizer = ConvTokenizer(c.widths, c.d_model, self.crop_hw, cond_dim=c.d_model)
        # agent.grounding=spatial: the grounding head reads image points the sentence selects (spatial.py)
        self.spatial = (
            SpatialGrounding(c.widths, c.d_model, c.spatial_keypoints) if c.grounding == "spatial" else None
        )
        if c.spatial_targets:
            projection = torch.tensor(c.spatial_projection or [[0.0] * 4] * 3, dtype=torch.float32)
            full_hw = tuple(self.obs_spec[self.image_key]["shape"][:2])
            projection = resize_projection(projection, tuple(c.spatial_projection_hw), full_hw)  # type: ignore[arg-type]
            self.register_buffer("projection", projection, persistent=False)  # (3, 4), from the config
        self.readout = nn.Parameter(torch.randn(1, c.action_horizon, c.d_model) * 0.02)
        self.type_embed = nn.Parameter(torch.zeros(3, c.d_model))  # sentence, proprio, readout token types
        self.blocks = nn.ModuleList(TransformerBlock(c.d_model, c.n_heads, dropout=c.dropout, causal=False)
                                    for _ in range(c.n_layers))  # fmt: skip
        self.norm = nn.LayerNorm(c.d_model)
        if c.grounded:
            # Each readout state beside the predicted positions and proprio (agent.grounded): an MLP, as
            # the state control's, can then compute "hand to object" from the positions directly.
            # Without the readout (agent.grounded_readout=false) one MLP maps the positions and proprio to
            # the whole chunk, exactly the state control's head.
            h = c.grounded_hidden
            width = c.d_model + self.grounding_dim if c.grounded_readout else self.grounding_dim
            chunk = 1 if c.grounded_readout else c.action_horizon
            self.head: nn.Module = nn.Sequential(
                nn.Linear(width, h), nn.ReLU(),
                nn.Linear(h, h), nn.ReLU(), nn.Linear(h, chunk * self.action_dim * c.bins),
            )  # fmt: skip
        else:
            self.head = nn.Linear(c.d_model, self.action_dim * c.bins)
        low = np.broadcast_to(self.low, (self.action_dim,)).astype(np.float32)
        high = np.broadcast_to(self.high, (self.action_dim,)).astype(np.float32)
        self.register_buffer("bin_low", torch.as_tensor(low))  # (A,)
        self.register_buffer("bin_width", torch.as_tensor((high - low) / c.bins))  # (A,)

    bin_low: torch.Tensor
    bin_width: torch.Tensor
    projection: torch.Tensor

    def make_aux_head(self) -> nn.Module:
        if self.spatial is None:
            return super().make_aux_head()
        h = self.config.grounded_hidden
        return nn.Sequential(nn.Linear(self.spatial.out_dim, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                             nn.Linear(h, self.aux_dim))  # fmt: skip

    def features(self, batch: dict[str, torch.Tensor]) -> Features:
        """The readout states and what the grounding head reads: the sentence state after the transformer
        (G = D), or with ``grounding=spatial`` the current frame's image points and the sentence
        (G = SpatialGrounding.out_dim; no proprioception reaches them) with the heatmaps behind them."""
        _, _, sentence = self.text(self.texts_of(batch))  # (B, D)
        b, to = sentence.shape[0], self.config.obs_horizon
        cond = sentence.repeat_interleave(to, dim=0)  # (B * To, D)
        heat = offsets = None
        if self.spatial is None:
            image = self.with_frames(self.tokenizer(self.images_of(batch), cond), b)  # (B, To*n, D)
        else:
            crops, offsets = self.images_and_offsets(batch)  # (B*To, h, w, 3), (B*To, 2)
            maps: list[torch.Tensor] = []
            image = self.with_frames(self.tokenizer(crops, cond, maps), b)
            last = [m.view(b, to, *m.shape[1:])[:, -1] for m in maps]  # the current frame's
            offsets = offsets.view(b, to, 2)[:, -1]  # (B, 2)
            ground, heat = self.spatial(last, sentence, offsets, self.crop_hw)  # (B, G), (B, K, h, w)
        parts = [(sentence + self.type_embed[0])[:, None]]
        low = self.low_token(batch)
        if low is not None:
            parts.append(low + self.type_embed[1])
        parts += [image, self.readout.expand(b, -1, -1) + self.type_embed[2]]
        x = torch.cat(parts, dim=1)  # (B, S, D)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        readout = x[:, -self.config.action_horizon :]
        return Features(readout, x[:, 0] if self.spatial is None else ground, heat, offsets)

    def logits(
        self, readout: torch.Tensor, sentence: torch.Tensor, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(bin logits (B, Ta, A, K), the grounding head's positions (B, S) or None)."""
        pred = self.aux_predict(sentence)
        x = readout  # (B, Ta, D)
        if self.config.grounded:
            assert pred is not None  # VLAConfig: grounded needs the aux head
            ground = self.grounding(pred, batch)  # (B, S+P)
            if not self.config.grounded_readout:
                return self.head(ground).view(*readout.shape[:2], self.action_dim, self.config.bins), pred
            ground = ground[:, None].expand(-1, readout.shape[1], -1)  # (B, Ta, S+P)
            x = torch.cat([readout, ground], dim=-1)  # (B, Ta, D+S+P)
        logits = self.head(x).view(*readout.shape[:2], self.action_dim, self.config.bins)
        return logits, pred

    def spatial_loss(
        self, batch: dict[str, torch.Tensor], heat: torch.Tensor, offsets: torch.Tensor
    ) -> torch.Tensor:
        """Heatmap cross-entropy of the supervised keypoints (``spatial_targets``: the named object and
        its goal) on ``heat`` (B, K, h, w), crops at ``offsets`` (B, 2)."""
        c = self.config
        state = batch[f"obs/{c.aux_key}"][:, -1].float()  # (B, state)
        world = torch.stack([state[:, idx] for idx in c.spatial_targets], dim=1)  # (B, K', 3)
        points = project(world, self.projection) - offsets[:, None]  # (B, K', 2) crop pixels
        return heatmap_loss(heat[:, : len(c.spatial_targets)], points, self.crop_hw, c.spatial_sigma)

    def to_bins(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., A) actions -> (..., A) bin indices (clipped into the range)."""
        idx = torch.floor((actions - self.bin_low) / self.bin_width).long()
        return idx.clamp(0, self.config.bins - 1)

    def from_bins(self, idx: torch.Tensor) -> torch.Tensor:
        return self.bin_low + (idx.float() + 0.5) * self.bin_width  # bin centres (..., A)

    def bin_targets(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., A) actions -> (..., A, K) HL-Gauss labels: a Gaussian of ``bin_sigma`` bins around each
        (clipped) action, integrated over each bin and renormalised over the range."""
        k = self.config.bins
        actions = torch.maximum(torch.minimum(actions, self.bin_low + k * self.bin_width), self.bin_low)
        steps = torch.arange(k + 1, device=actions.device)
        edges = self.bin_low[:, None] + steps * self.bin_width[:, None]  # (A, K+1)
        sigma = (self.config.bin_sigma * self.bin_width)[:, None]  # (A, 1)
        cdf = torch.special.ndtr((edges - actions[..., None]) / sigma)  # (..., A, K+1)
        mass = cdf[..., 1:] - cdf[..., :-1]
        return mass / mass.sum(-1, keepdim=True).clamp(min=1e-12)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, Ta, A, K) logits -> (B, Ta, A) actions, by ``bin_decode``."""
        if self.config.bin_decode == "argmax":
            return self.from_bins(logits.argmax(-1))
        idx = torch.arange(self.config.bins, device=logits.device)[:, None].expand(-1, self.action_dim)
        centres = self.from_bins(idx).T  # (A, K)
        return (logits.softmax(-1) * centres).sum(-1)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        feats = self.features(batch)
        logits, pred = self.logits(feats.readout, feats.ground, batch)  # (B, Ta, A, K), (B, S)
        actions = batch["action"].float()  # (B, Ta, A)
        target = self.to_bins(actions)  # (B, Ta, A)
        if self.config.bin_sigma > 0:
            ce = -(self.bin_targets(actions) * logits.log_softmax(-1)).sum(-1)  # (B, Ta, A)
        else:
            ce = nn.functional.cross_entropy(
                logits.flatten(0, 2),
                target.flatten(),
                reduction="none",
                label_smoothing=self.config.label_smoothing,
            ).view(target.shape)  # (B, Ta, A)
        valid = (~batch["action_is_pad"]).float()[..., None]  # (B, Ta, 1)
        ce = (ce * valid).sum() / (valid.sum() * self.action_dim).clamp(min=1.0)
        accuracy = ((logits.argmax(-1) == target).float() * valid).sum() / (valid.sum() * self.action_dim)
        aux, aux_metrics = self.aux_loss(pred, batch)
        loss = ce + aux
        if self.spatial is not None and self.config.spatial_targets:
            assert feats.heat is not None and feats.offsets is not None  # spatial grounding's
            heat_loss = self.spatial_loss(batch, feats.heat, feats.offsets)
            loss = loss + self.config.spatial_weight * heat_loss
            aux_metrics["heat_ce"] = float(heat_loss.detach())
        return loss, {"loss": float(loss.detach()), "action_ce": float(ce.detach()),
                      "bin_accuracy": float(accuracy), **aux_metrics}  # fmt: skip

    def predict_chunk(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | list[torch.Generator]
    ) -> torch.Tensor:
        del generator  # the most likely bin or the mean: deterministic
        feats = self.features(batch)
        return self.decode(self.logits(feats.readout, feats.ground, batch)[0])  # (B, Ta, A)
