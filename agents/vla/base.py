"""What both VLA agents share: reading (image, proprioception, instruction) batches, the text encoder,
normalisers, the training-only grounding head, acting over a vector env and saving.

A batch (``workbench.dataset.SequenceDataset``) holds, for a history of To frames::

    obs/rgb/<camera>  (B, To, H, W, 3) uint8     obs/proprio (B, To, P)     obs/instruction (B, To, L) uint8
    obs/<aux_key>     (B, To, S)  training only: the grounding target's source (Tabletop's state)
    action            (B, Ta, A)  action_is_pad (B, Ta)

Subclasses build their trunk in ``build`` and define ``compute_loss`` and ``predict_chunk``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.imitation.acting import ActionQueue, ObsHistory, RowGenerators
from agents.policy_io import save_policy
from agents.vla.config import VLAConfig
from agents.vla.text import make_text_encoder
from foundation.augment import center_crop, random_crop
from foundation.normalizer import Normalizer
from foundation.text_codes import decode_texts, encode_texts


def split_obs_keys(obs_spec: dict[str, Any], obs_keys: list[str]) -> tuple[str, list[str], str]:
    """(the one rgb key, the low-dimensional keys, the one text key) of ``obs_keys``, or a clear error."""
    missing = [k for k in obs_keys if k not in obs_spec]
    if missing:
        raise ValueError(f"agent.obs_keys {missing} are not in the observations {sorted(obs_spec)}")
    images = [k for k in obs_keys if k.startswith("rgb/")]
    texts = [k for k in obs_keys if obs_spec[k].get("dtype") == "str"]
    low = [k for k in obs_keys if k not in images and k not in texts]
    if len(images) != 1 or len(texts) != 1:
        raise ValueError(
            f"a VLA reads one camera image and one instruction; agent.obs_keys={obs_keys} has "
            f"{len(images)} rgb keys and {len(texts)} text keys (set env.cameras to one camera)"
        )
    bad = [k for k in low if len(obs_spec[k].get("shape", [])) != 1]
    if bad:
        raise ValueError(f"agent.obs_keys {bad}: a VLA reads vectors beside its image and instruction")
    return images[0], low, texts[0]


class VLABase(nn.Module):
    """Inputs, text, normalisers, grounding head and acting of a vision-language-action agent."""

    def __init__(
        self,
        config: VLAConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = config.name
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_spec
        self.image_key, self.low_keys, self.text_key = split_obs_keys(obs_spec, config.obs_keys)
        self.text_length = int(obs_spec[self.text_key].get("max_length") or 64)
        self.action_dim = int(np.prod(action_spec["shape"]))
        self.low = np.asarray(action_spec.get("low", -1.0), dtype=np.float32)
        self.high = np.asarray(action_spec.get("high", 1.0), dtype=np.float32)
        h, w, _ = obs_spec[self.image_key]["shape"]
        self.crop_hw = (max(8, round(h * config.image_crop)), max(8, round(w * config.image_crop)))
        self.low_dim = sum(int(obs_spec[k]["shape"][0]) for k in self.low_keys)
        self.low_norms = nn.ModuleDict(
            {k: Normalizer.identity((int(obs_spec[k]["shape"][0]),)) for k in self.low_keys}
        )
        self.action_norm = Normalizer.identity((self.action_dim,))
        self.aux_dim = len(config.aux_indices) if config.aux_key is not None else 0
        self.aux_norm = Normalizer.identity((max(1, self.aux_dim),))
        texts = (stats or {}).get(f"obs/{self.text_key}", {}).get("texts")
        self.text = make_text_encoder(config.text, config.d_model, texts)
        if stats is not None:
            self.set_stats(stats)
        self.frame_pos = nn.Parameter(torch.zeros(1, config.obs_horizon, 1, config.d_model))
        self.low_proj = nn.Linear(self.low_dim * config.obs_horizon, config.d_model) if self.low_dim else None
        self.build()
        self.aux_head = self.make_aux_head() if self.aux_dim else None
        self._history = ObsHistory(config.obs_keys, config.obs_horizon)
        self._queue = ActionQueue(config.execute_horizon, self.action_dim)
        self._generators = RowGenerators()

    def build(self) -> None:
        """The agent's trunk and action head (subclasses)."""
        raise NotImplementedError

    def make_aux_head(self) -> nn.Module:
        """The grounding head over the fused features (B, D): linear (subclasses with other features
        override it)."""
        return nn.Linear(self.config.d_model, self.aux_dim)

    def set_stats(self, stats: dict[str, Any]) -> None:
        for k in self.low_keys:
            self.low_norms[k] = Normalizer.from_stats(stats[f"obs/{k}"])
        self.action_norm = Normalizer.from_stats(stats["action"])
        if self.aux_dim:
            key = f"obs/{self.config.aux_key}"
            if key not in stats:
                raise ValueError(
                    f"agent.aux_key={self.config.aux_key!r}: the dataset has no statistics for {key} "
                    "(record it, or set agent.aux_key=null)"
                )
            idx = self.config.aux_indices
            self.aux_norm = Normalizer.from_stats(
                {m: [stats[key][m][i] for i in idx] for m in ("mean", "std", "min", "max")}
            )

    # ------------------------------------------------------------------------------------ inputs
    def texts_of(self, batch: dict[str, torch.Tensor]) -> list[str]:
        """The instruction of each sample (its current frame's; constant within an episode)."""
        return decode_texts(batch[f"obs/{self.text_key}"][:, -1].cpu().numpy())

    def images_of(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, To, H, W, 3) uint8 -> cropped (B * To, h, w, 3): a random window per sample in training
        (the same for its whole history), the centre when acting."""
        images = batch[f"obs/{self.image_key}"]
        h, w = self.crop_hw
        if (h, w) != tuple(images.shape[-3:-1]):
            images = random_crop(images, h, w, same_across=1) if self.training else center_crop(images, h, w)
        return images.flatten(0, 1)

    def images_and_offsets(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`images_of`, with where each window sat: (B * To, h, w, 3) and (B * To, 2) its (top, left)
        in pixels, for heads that turn image points into positions (the crop must not move the table)."""
        images = batch[f"obs/{self.image_key}"]  # (B, To, H, W, 3)
        b, to, full_h, full_w = images.shape[:4]
        h, w = self.crop_hw
        if self.training:
            top = torch.randint(0, full_h - h + 1, (b,)).tolist()
            left = torch.randint(0, full_w - w + 1, (b,)).tolist()
        else:
            top, left = [(full_h - h) // 2] * b, [(full_w - w) // 2] * b
        windows = enumerate(zip(top, left, strict=True))
        crops = torch.stack([images[i, :, t : t + h, s : s + w] for i, (t, s) in windows])  # (B, To, h, w, 3)
        offsets = torch.tensor(list(zip(top, left, strict=True)), dtype=torch.float32, device=images.device)
        return crops.flatten(0, 1), offsets.repeat_interleave(to, dim=0)

    def low_token(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """(B, 1, D) token of the normalised low-dimensional history, or None without such keys."""
        if self.low_proj is None:
            return None
        parts = [self.low_norms[k].normalize(batch[f"obs/{k}"].float()) for k in self.low_keys]  # type: ignore[operator]
        return self.low_proj(torch.cat(parts, dim=-1).flatten(1))[:, None]  # (B, 1, D)

    def with_frames(self, tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
        """(B * To, n, D) per-frame tokens -> (B, To * n, D) with a learned embedding per frame."""
        n, d = tokens.shape[1:]
        tokens = tokens.view(batch_size, self.config.obs_horizon, n, d) + self.frame_pos
        return tokens.flatten(1, 2)

    def aux_predict(self, feats: torch.Tensor) -> torch.Tensor | None:
        """The grounding head's normalised positions (B, S) from the fused features (B, D), or None."""
        return None if self.aux_head is None else self.aux_head(feats)

    def aux_loss(
        self, pred: torch.Tensor | None, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training-only grounding: regress the normalised ``aux_indices`` of ``obs/<aux_key>`` (current
        frame) with ``pred`` (B, S), the head's output. Zero without an aux head."""
        if pred is None or self.config.aux_weight == 0:
            return torch.zeros((), device=batch["action"].device), {}
        aux = batch[f"obs/{self.config.aux_key}"][:, -1].float()  # (B, state)
        target = aux[:, self.config.aux_indices]  # (B, S)
        per_frame = (pred - self.aux_norm.normalize(target)).pow(2).mean(-1)  # (B,)
        loss = per_frame.mean()
        return self.config.aux_weight * loss, {"aux_mse": float(loss.detach())}

    @property
    def grounding_dim(self) -> int:
        """Width of :meth:`grounding`: the predicted positions and one frame of proprioception."""
        return self.aux_dim + self.low_dim

    def grounding(self, pred: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, S + P) input of a grounded action head (``agent.grounded``): the grounding head's
        positions ``pred`` (B, S), detached so that the action loss cannot bend them away from positions,
        beside the current frame's normalised proprioception. What the state control reads, from pixels.
        With ``grounded_teacher``, training reads the true positions (the normalised aux target) instead."""
        if self.config.grounded_teacher and self.training:
            target = batch[f"obs/{self.config.aux_key}"][:, -1, self.config.aux_indices].float()  # (B, S)
            pred = self.aux_norm.normalize(target)
        parts = [pred.detach()]
        parts += [self.low_norms[k].normalize(batch[f"obs/{k}"][:, -1].float()) for k in self.low_keys]  # type: ignore[operator]
        return torch.cat(parts, dim=-1)

    # ---------------------------------------------------------------------------------- training
    def configure_optimizer(self) -> torch.optim.Optimizer:
        # No weight decay on biases, norms, embeddings and positions (nanoGPT's grouping).
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2 and p.shape[0] > 1]
        rest = [p for p in params if not (p.dim() >= 2 and p.shape[0] > 1)]
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.config.weight_decay},
                {"params": rest, "weight_decay": 0.0},
            ],
            lr=self.config.lr,
        )

    def after_optimizer_step(self) -> None:
        """No EMA weights."""

    # ------------------------------------------------------------------------------------ acting
    def predict_chunk(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | list[torch.Generator]
    ) -> torch.Tensor:
        """Unnormalised action chunk (B, Ta, A) from a batch of histories, in eval mode."""
        raise NotImplementedError

    def reset(self, seed: int | None = None) -> None:
        self._history.reset()
        self._queue.reset()
        self._generators.reset(seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        self._history.reset_envs(mask)
        self._queue.reset_envs(mask)
        self._generators.reset_envs(mask, seeds)

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched observations (the instruction as (B,) strings) -> (B, A) actions in the action range.
        Only ``obs_keys`` are read: the env's privileged ``state`` never reaches the policy."""
        obs = {k: obs[k] for k in self.config.obs_keys}
        obs[self.text_key] = encode_texts(obs[self.text_key], self.text_length)  # (B, L) uint8
        history = self._history.update(obs)
        batch = next(iter(history.values())).shape[0]
        device = next(self.parameters()).device

        def predict(need: np.ndarray) -> np.ndarray:
            inputs = {f"obs/{k}": torch.as_tensor(v[need], device=device) for k, v in history.items()}
            was_training = self.training
            self.eval()
            try:
                chunk = self.predict_chunk(inputs, self._generators.for_rows(need))  # (n, Ta, A)
            finally:
                self.train(was_training)
            return chunk.cpu().numpy()

        action = self._queue.next(batch, predict)
        if not np.isfinite(action).all():
            raise FloatingPointError(f"{self.name} produced a non-finite action; the weights are broken")
        return np.clip(action, self.low, self.high).astype(np.float32)

    def save(self, path: str | Path) -> None:
        save_policy(self, path)
