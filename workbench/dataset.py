"""Training batches from an episode dataset (the normaliser that travels with a policy is in foundation/).

``SequenceDataset`` serves one sample per timestep t of every episode, in LeRobot's
``delta_timestamps`` terms (observations at offsets -To+1 .. 0, actions at offsets 0 .. Ta-1):

    obs/<key>            (To, *shape)  observations t-To+1 .. t; before the episode start the first
                                       observation repeats
    action               (Ta, A)       actions t .. t+Ta-1; past the episode end the last action repeats
    action_is_pad        (Ta,)         True where the action is padding, so losses can mask it out
    past_action          (To-1, A)     actions t-To+1 .. t-1, the ones taken at the earlier history frames;
                                       before the episode start the first action repeats
    past_action_is_pad   (To-1,)       True where the past action is such padding

``cat(past_action, action)`` is the action at every step the sample sees, t-To+1 .. t+Ta-1. Agents
cut their targets from it: BC's chunk starts at the current step t (``action``); BC-Transformer
supervises every history position s with actions s .. s+Ta-1; Diffusion Policy's chunk starts at
the first observation frame, t-To+1 (Chi et al. 2023; see ``agents.imitation.diffusion``).

Which actions are the labels (``action_key``): ``actions`` is what was executed, ``expert_actions``
the clean expert labels recorded beside it (DART noise on the executed actions, DAgger rollouts),
and ``auto`` takes the clean labels wherever an episode recorded them and the executed actions
elsewhere, so noisy demonstrations train on what the expert meant, not on the noise.

Everything is held in memory as flat, concatenated numpy arrays plus per-sample index arrays, so a
whole batch is a few fancy-indexing gathers (``sample_batch``). On a 2-core laptop that beats a
DataLoader with workers, whose process start-up and pickling cost more than the indexing itself.
Image keys stay uint8 (4x smaller than float32); the encoder converts them. Text keys (Tabletop's
``instruction``) become fixed-width byte codes, ``obs/<key>`` (B, To, L) uint8
(``foundation.text_codes``), and their "statistics" are the distinct strings the data holds (what a
learned word vocabulary is built from, train split only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foundation.text_codes import encode_texts
from workbench.data import is_low_dim, load_episode, load_meta

__all__ = ["ACTION_KEYS", "SequenceDataset"]

# Where the labels come from; "auto": expert_actions where an episode recorded them, else actions.
ACTION_KEYS = ("auto", "actions", "expert_actions")


class SequenceDataset(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Every timestep of every (selected) episode, with observation history and action chunks."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        obs_keys: Sequence[str],
        obs_horizon: int = 1,
        action_horizon: int = 1,
        action_key: str = "auto",
        episodes: Sequence[int] | None = None,
    ) -> None:
        if obs_horizon < 1 or action_horizon < 1:
            raise ValueError(
                f"obs_horizon and action_horizon must be >= 1, got {obs_horizon}, {action_horizon}"
            )
        if action_key not in ACTION_KEYS:
            raise ValueError(f"action_key={action_key!r} is not one of {list(ACTION_KEYS)}")
        self.root = Path(root)
        self.meta = load_meta(self.root)
        self.obs_keys = list(obs_keys)
        self.obs_horizon, self.action_horizon = obs_horizon, action_horizon
        n_total = len(self.meta["episodes"])
        self.episode_indices = list(range(n_total)) if episodes is None else [int(e) for e in episodes]
        if not self.episode_indices:
            raise ValueError(f"no episodes selected from {self.root} ({n_total} available)")
        bad = [e for e in self.episode_indices if not 0 <= e < n_total]
        if bad:
            raise IndexError(f"{self.root} has {n_total} episodes; cannot select {bad}")
        has_expert = [bool(self.meta["episodes"][e].get("has_expert_actions")) for e in self.episode_indices]
        if action_key == "expert_actions" and not all(has_expert):
            missing = [e for e, has in zip(self.episode_indices, has_expert, strict=True) if not has]
            raise ValueError(
                f"action_key='expert_actions' but episodes {missing[:10]} of {self.root} have no expert "
                "actions; collect with expert labels (DART/DAgger) or use action_key='auto' or 'actions'"
            )
        if action_key == "auto":
            # Uniform datasets resolve to one key (and can use meta.json's stats for it); a mix takes
            # each episode's clean labels where it has them.
            action_key = "expert_actions" if all(has_expert) else "actions" if not any(has_expert) else "auto"
        self.action_key = action_key  # resolved: "auto" remains only for a mix of both kinds

        obs_parts: dict[str, list[np.ndarray]] = {k: [] for k in self.obs_keys}
        act_parts: list[np.ndarray] = []
        lengths: list[int] = []
        loaded: list[int] = []  # the episodes with steps, in the order of the parts
        for e in self.episode_indices:
            ep = load_episode(self.root, e, obs_keys=self.obs_keys, meta=self.meta)
            if ep.length == 0:
                continue  # a reset-only episode has no (obs, action) pair to learn from
            for k in self.obs_keys:
                obs_parts[k].append(ep.obs[k])
            clean = ep.expert_actions if action_key != "actions" else None  # None: not recorded/wanted
            act_parts.append(ep.actions if clean is None else clean)
            lengths.append(ep.length)
            loaded.append(e)
        if not lengths:
            raise ValueError(f"the selected episodes of {self.root} have no steps")

        self.obs = {k: np.concatenate(v) for k, v in obs_parts.items()}  # key -> (sum(T_e + 1), *shape)
        # Text: the distinct strings (the key's "statistics"), then (N, L) uint8 codes like any array.
        self.text_keys = [k for k in self.obs_keys if self.obs[k].dtype.kind in "USO"]
        self.texts = {k: sorted({str(t) for t in self.obs[k].reshape(-1)}) for k in self.text_keys}
        for k in self.text_keys:
            length = int(self.meta["obs_spec"].get(k, {}).get("max_length") or max(map(len, self.texts[k])))
            self.obs[k] = encode_texts(self.obs[k], length)  # (sum(T_e + 1), L)
        self.actions = np.concatenate(act_parts)  # (sum(T_e), A) float32
        # A NaN in the data becomes a NaN loss hundreds of steps later: name the culprit now.
        for name, parts in [("actions", act_parts), *((f"obs/{k}", v) for k, v in obs_parts.items())]:
            bad = [e for e, part in zip(loaded, parts, strict=True)
                   if part.dtype.kind == "f" and not np.isfinite(part).all()]
            if bad:
                raise ValueError(
                    f"dataset {self.root}: {name} of episodes {bad[:5]} hold NaN or inf; re-collect them "
                    "or train on the other episodes"
                )

        # Per-sample index arrays: sample i is step t[i] of an episode of length T[i] whose
        # observations start at obs_start[i] and actions at act_start[i] in the flat arrays.
        lens = np.asarray(lengths, dtype=np.int64)  # (E,)
        act_offsets = np.concatenate([[0], np.cumsum(lens)])  # (E+1,)
        obs_offsets = np.concatenate([[0], np.cumsum(lens + 1)])  # (E+1,)
        ep_of_sample = np.repeat(np.arange(len(lens)), lens)  # (N,)
        self._t = np.arange(len(ep_of_sample)) - act_offsets[ep_of_sample]  # (N,)
        self._len = lens[ep_of_sample]  # (N,)
        self._obs_start = obs_offsets[ep_of_sample]  # (N,)
        self._act_start = act_offsets[ep_of_sample]  # (N,)
        self._obs_delta = np.arange(-obs_horizon + 1, 1)  # (To,)
        self._act_delta = np.arange(action_horizon)  # (Ta,)
        self._past_delta = np.arange(-obs_horizon + 1, 0)  # (To-1,)
        self.episode_ranges = np.stack([act_offsets[:-1], act_offsets[1:]], axis=1)  # (E, 2) [start, end)
        self._stats: dict[str, dict[str, Any]] | None = None
        # What sample_batch gathers from, as tensors: views of the arrays above on the CPU (no copy),
        # moved whole to a GPU by `to` so that batches are gathered where the model trains.
        self._tensors: dict[str, torch.Tensor] = {
            name: torch.from_numpy(np.ascontiguousarray(array))
            for name, array in {
                **{f"obs/{k}": v for k, v in self.obs.items()}, "actions": self.actions, "t": self._t,
                "len": self._len, "obs_start": self._obs_start, "act_start": self._act_start,
                "obs_delta": self._obs_delta, "act_delta": self._act_delta, "past_delta": self._past_delta,
            }.items()
        }  # fmt: skip

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._tensors.values())

    def to(self, device: torch.device | str) -> SequenceDataset:
        """Hold the training tensors on ``device`` (a GPU: batches are then gathered there)."""
        self._tensors = {k: v.to(device) for k, v in self._tensors.items()}
        return self

    def to_device_if_fits(self, device: torch.device, fraction: float = 0.5) -> bool:
        """Move to ``device`` when it is a GPU with room for the data (at most ``fraction`` of its free
        memory, leaving the rest to the model and activations); returns whether it moved."""
        if device.type != "cuda":
            return False
        free, _ = torch.cuda.mem_get_info(device)
        if self.nbytes > fraction * free:
            return False
        self.to(device)
        return True

    def __len__(self) -> int:
        return len(self._t)

    @property
    def action_dim(self) -> int:
        return int(self.actions.shape[1])

    def sample_batch(self, indices: np.ndarray | Sequence[int]) -> dict[str, torch.Tensor]:
        """Gather samples ``indices`` (B,) into a batch with vectorised indexing."""
        T = self._tensors
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64).reshape(-1), device=T["t"].device)  # (B,)
        t = T["t"][idx, None]  # (B, 1)
        # Clamp into the episode: index 0 repeats before the start, T-1 repeats after the end.
        obs_idx = T["obs_start"][idx, None] + torch.clamp(t + T["obs_delta"], min=0)  # (B, To)
        act_t = t + T["act_delta"]  # (B, Ta)
        last = T["len"][idx, None] - 1  # (B, 1)
        act_idx = T["act_start"][idx, None] + torch.minimum(act_t, last)  # (B, Ta)
        batch = {f"obs/{k}": T[f"obs/{k}"][obs_idx] for k in self.obs}  # (B, To, *shape)
        batch["action"] = T["actions"][act_idx]  # (B, Ta, A)
        batch["action_is_pad"] = act_t > last  # (B, Ta)
        past_t = t + T["past_delta"]  # (B, To-1)
        past_idx = T["act_start"][idx, None] + torch.clamp(past_t, min=0)  # (B, To-1)
        batch["past_action"] = T["actions"][past_idx]  # (B, To-1, A)
        batch["past_action_is_pad"] = past_t < 0  # (B, To-1)
        return batch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        return {k: v[0] for k, v in self.sample_batch([index % len(self)]).items()}

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        """mean/std/min/max per batch key (``obs/<key>`` for low-dim keys, ``action``), and for text keys
        ``{"texts": [distinct strings]}``.

        With all episodes selected these are the dataset's stats from meta.json. With a subset (a
        train split) they are computed from the loaded arrays, so validation data never leaks into
        the normaliser.
        """
        if self._stats is None:
            meta_stats = self.meta.get("stats") or {}
            wanted = {f"obs/{k}": f"obs/{k}" for k in self.low_dim_keys} | {"action": self.action_key}
            if len(self.episode_indices) == len(self.meta["episodes"]) and all(
                src in meta_stats for src in wanted.values()
            ):  # a mix of label kinds ("auto") has no stats of its own in meta.json
                self._stats = {dst: dict(meta_stats[src]) for dst, src in wanted.items()}
            else:
                arrays = {f"obs/{k}": self.obs[k] for k in self.low_dim_keys} | {"action": self.actions}
                self._stats = {k: _array_stats(v) for k, v in arrays.items()}
            self._stats.update({f"obs/{k}": {"texts": list(v)} for k, v in self.texts.items()})
        return self._stats

    @property
    def low_dim_keys(self) -> list[str]:
        return [
            k for k in self.obs_keys
            if k not in self.text_keys and is_low_dim(k, self.obs[k].shape[1:], self.obs[k].dtype)
        ]


def _array_stats(x: np.ndarray) -> dict[str, Any]:
    x64 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)  # (N, D)
    return {
        "mean": x64.mean(0).tolist(),
        "std": x64.std(0).tolist(),
        "min": x64.min(0).tolist(),
        "max": x64.max(0).tolist(),
        "count": len(x64),
    }
