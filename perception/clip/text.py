"""Words -> vectors for the vision-language models: a word tokenizer, its vocabulary and the learned
text encoder (a small bidirectional transformer)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from foundation.transformer import TransformerBlock

PAD, UNK = "<pad>", "<unk>"


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters only; punctuation and digits split words)."""
    return re.findall(r"[a-z]+", text.lower())


def build_vocabulary(texts: Iterable[str]) -> list[str]:
    """``[PAD, UNK, *sorted words]``: index 0 pads, 1 stands for every word not seen here."""
    return [PAD, UNK, *sorted({w for t in texts for w in words(t)})]


class Vocabulary:
    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str], max_words: int) -> torch.Tensor:
        """(B, max_words) int64 word ids, 0-padded (longer texts keep their first ``max_words``)."""
        out = torch.zeros(len(texts), max_words, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.index.get(w, 1) for w in words(text)][:max_words]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out


class LearnedTextEncoder(nn.Module):
    """(B, L) word ids -> (B, out_dim): embeddings + positions, bidirectional blocks, masked mean."""

    def __init__(
        self, vocab_size: int, dim: int, layers: int, heads: int, max_words: int, out_dim: int
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, max_words, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, causal=False) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids > 0).float().unsqueeze(-1)  # (B, L, 1); padding attends but is left out of the mean
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]  # (B, L, D)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        pooled = (x * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, D)
        return self.proj(pooled)  # (B, out_dim)
