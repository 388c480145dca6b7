"""Behaviour cloning: the BC family (``bc``, ``bc_rnn``, ``bc_transformer``) in one agent.

The policy regresses normalised expert actions from an observation history (mean-squared error):

    feats  = ObsEncoder(obs[t-To+1 .. t])            (B, To, F)  low-dim keys + one ResNet per camera
    chunk  = backbone(feats)                         (B, Ta, A)  MLP on stacked frames | LSTM | transformer
    loss   = || chunk - normalise(a[t .. t+Ta-1]) ||^2, padded steps past the episode end masked out

The chunk starts at the current step t (ACT's convention). The causal transformer is supervised at
every history position instead of the last only: position j, the frame of step s = t-To+1+j, predicts
a[s .. s+Ta-1] from the frames up to it (``per_position_targets``).

Acting executes ``execute_horizon`` actions of each chunk before predicting again (action chunking),
or with ``temporal_ensemble`` predicts at every step and averages every chunk's prediction for the
current step (ACT, Zhao et al. 2023). The variants differ only by ``config.backbone``.

With ``gripper_head=binary`` the last action entry (the gripper in every workbench Box controller)
is a logit instead: trained with binary cross-entropy against "open" (expert action > 0) and acted
as the controller's open or closed extreme, so the expert's switch stays a switch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.imitation.acting import ActionQueue, ObsHistory
from agents.imitation.bc_config import BCConfig
from agents.imitation.bc_rnn import LSTMHead
from agents.imitation.bc_transformer import TransformerHead
from agents.imitation.obs_encoder import ObsEncoder, encoder_param_groups
from agents.policy_io import save_policy
from foundation.mlp import MLP
from foundation.normalizer import Normalizer


def per_position_targets(
    batch: dict[str, torch.Tensor], horizon: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every history position's action chunk: targets (B, To, Ta, A) and where they count (B, To, Ta).

    Position j of the sample at step t is the frame of step s_j = t-To+1+j; its chunk a[s_j ..
    s_j+Ta-1] is cut from ``cat(past_action, action)`` = a[t-To+1 .. t+Ta-1]. A frame before the
    episode start (a padded copy of the first observation) has no action of its own, so its whole
    chunk is left out; steps past the episode end are left out as in the last-position loss.
    """
    if "past_action" not in batch:
        raise KeyError("the per-position loss needs batch['past_action'] (workbench.dataset.SequenceDataset)")
    actions = torch.cat([batch["past_action"], batch["action"]], dim=1)  # (B, To-1+Ta, A)
    pad = torch.cat([batch["past_action_is_pad"], batch["action_is_pad"]], dim=1)  # (B, To-1+Ta)
    chunks = actions.unfold(1, horizon, 1).transpose(-1, -2)  # (B, To, Ta, A)
    step_pad = pad.unfold(1, horizon, 1)  # (B, To, Ta)
    current = torch.zeros_like(batch["action_is_pad"][:, :1])  # (B, 1): the frame of step t is real
    frame_pad = torch.cat([batch["past_action_is_pad"], current], dim=1)  # (B, To)
    return chunks, ~step_pad & ~frame_pad[..., None]


class StackedMLPHead(nn.Module):
    """Frame stacking: ``(B, To, F)`` -> flatten -> MLP -> ``(B, out_dim)``."""

    def __init__(self, in_dim: int, out_dim: int, config: BCConfig) -> None:
        super().__init__()
        self.mlp = MLP(
            in_dim * config.obs_horizon, out_dim, config.hidden_dims, config.activation, config.dropout
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.mlp(feats.flatten(1))  # (B, To * F) -> (B, out_dim)


def build_backbone(config: BCConfig, in_dim: int, out_dim: int) -> nn.Module:
    if config.backbone == "mlp":
        return StackedMLPHead(in_dim, out_dim, config)
    if config.backbone == "rnn":
        return LSTMHead(in_dim, out_dim, config.rnn_hidden_dim, config.rnn_layers)
    if config.backbone == "transformer":
        return TransformerHead(
            in_dim, out_dim, config.obs_horizon, config.d_model, config.n_layers, config.n_heads,
            config.dropout,
        )  # fmt: skip
    raise ValueError(f"agent.backbone={config.backbone!r} is not one of ['mlp', 'rnn', 'transformer']")


class TemporalEnsembler:
    """ACT's temporal ensembling (Zhao et al. 2023, "Learning Fine-Grained Bimanual Manipulation with
    Low-Cost Hardware", sec. 3.3).

    The policy is queried at every step and predicts a chunk of Ta actions, so up to Ta predictions
    exist for the current step (made 0 .. Ta-1 steps ago). The executed action is their weighted
    mean with ``w_i = exp(-m * i)``, where i = 0 is the *oldest* prediction: ACT weights older
    predictions more, which smooths the motion; m (``decay``) sets how fast new observations take
    over (m = 0: plain average).
    """

    def __init__(self, horizon: int, decay: float) -> None:
        self.horizon, self.decay = horizon, decay
        self._chunks: np.ndarray | None = None  # (B, Ta, Ta, A): [:, k] the chunk predicted k steps ago
        self._valid: np.ndarray | None = None  # (B, Ta): whether the chunk of k steps ago exists

    def reset(self) -> None:
        self._chunks = self._valid = None

    def reset_envs(self, mask: np.ndarray) -> None:
        """Forget the predictions of the envs in ``mask`` (their episodes restarted)."""
        if self._valid is not None:
            self._valid[mask] = False

    def weights(self, valid: np.ndarray) -> np.ndarray:
        """(B, Ta) normalised weights of the predictions made k = 0 .. Ta-1 steps ago."""
        n = valid.sum(axis=1, keepdims=True)  # (B, 1) predictions for this step
        i = n - 1 - np.arange(valid.shape[1])[None]  # (B, Ta): rank from the oldest (k = n-1 -> i = 0)
        w = np.where(valid, np.exp(-self.decay * i), 0.0)  # (B, Ta)
        return w / w.sum(axis=1, keepdims=True)

    def update(self, chunk: np.ndarray) -> np.ndarray:
        """Add the chunk (B, Ta, A) predicted now; return the action (B, A) to execute now."""
        batch, horizon, _ = chunk.shape
        if self._chunks is None or self._valid is None or self._chunks.shape[0] != batch:
            self._chunks = np.zeros((batch, horizon, *chunk.shape[1:]), dtype=np.float32)
            self._valid = np.zeros((batch, horizon), dtype=bool)
        # Age every stored chunk by one step; the oldest (Ta steps ago) no longer covers this step.
        self._chunks = np.roll(self._chunks, 1, axis=1)
        self._valid = np.roll(self._valid, 1, axis=1)
        self._chunks[:, 0], self._valid[:, 0] = chunk, True
        k = np.arange(horizon)
        preds = self._chunks[:, k, k]  # (B, Ta, A): what the chunk of k steps ago says for this step
        w = self.weights(self._valid)  # (B, Ta)
        return (w[..., None] * preds).sum(axis=1).astype(np.float32)  # (B, A)


class BCAgent(nn.Module):
    config_class = BCConfig

    def __init__(
        self,
        config: BCConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = config.name
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_spec
        self.encoder = ObsEncoder(obs_spec, config.obs_keys, config.encoder, config.normalization)
        self.action_dim = int(np.prod(action_spec["shape"]))
        self.action_norm = Normalizer.identity((self.action_dim,), config.normalization)  # type: ignore[arg-type]
        if stats is not None:
            self.set_stats(stats)
        self.build_head()
        self.low = np.asarray(action_spec.get("low", -1.0), dtype=np.float32)
        self.high = np.asarray(action_spec.get("high", 1.0), dtype=np.float32)
        self.binary_gripper = config.gripper_head == "binary"
        # The binary head's two commands: the gripper entry's open (high) and closed (low) ends.
        opened, closed = (float(np.broadcast_to(b, (self.action_dim,))[-1]) for b in (self.high, self.low))
        self._gripper_ends = (opened, closed)
        if self.binary_gripper and (len(action_spec["shape"]) != 1 or self.action_dim < 2):
            raise ValueError(
                f"agent.gripper_head=binary needs a Box action with a gripper entry last (got shape "
                f"{list(action_spec['shape'])}); use agent.gripper_head=mse"
            )
        self._history = ObsHistory(config.obs_keys, config.obs_horizon)
        self._queue = ActionQueue(config.execute_horizon, self.action_dim)
        self._ensembler: TemporalEnsembler | None = None
        if config.temporal_ensemble:
            self._ensembler = TemporalEnsembler(config.action_horizon, config.ensemble_decay)

    def build_head(self) -> None:
        """The network from features (B, To, F) to the chunk; subclasses (ACT) build their own."""
        self.backbone = build_backbone(
            self.config, self.encoder.feature_dim, self.config.action_horizon * self.action_dim
        )

    # ----------------------------------------------------------------------------------- training
    def set_stats(self, stats: dict[str, Any]) -> None:
        """``stats`` as :attr:`SequenceDataset.stats` gives them: keyed ``obs/<key>`` and ``action``."""
        self.encoder.set_stats(stats)
        self.action_norm = Normalizer.from_stats(stats["action"], self.config.normalization)  # type: ignore[arg-type]

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """obs[``obs/<key>``]: (B, To, *shape) -> normalised action chunk (B, Ta, A)."""
        feats = self.encoder(obs)  # (B, To, F)
        return self.backbone(feats).view(-1, self.config.action_horizon, self.action_dim)  # (B, Ta, A)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean squared error of the normalised chunk, m = 0 on padding:

            loss = sum_k m_k || chunk_k - normalise(a[t+k]) ||^2 / (A sum_k m_k)

        and for the causal transformer, over every position j (frame of step s_j = t-To+1+j):

            loss = sum_{j,k} m_jk || f(o[t-To+1 .. s_j])_k - normalise(a[s_j+k]) ||^2 / (A sum_{j,k} m_jk)
        """
        if isinstance(self.backbone, TransformerHead):
            feats = self.encoder(batch)  # (B, To, F)
            pred = self.backbone.forward_all(feats).view(
                *feats.shape[:2], self.config.action_horizon, self.action_dim
            )  # (B, To, Ta, A)
            # (B, To, Ta, A) targets, (B, To, Ta) where they count
            actions, valid = per_position_targets(batch, self.config.action_horizon)
        else:
            pred = self(batch)  # (B, Ta, A)
            actions, valid = batch["action"], ~batch["action_is_pad"]  # (B, Ta, A), (B, Ta)
        return self.chunk_loss(pred, actions, valid)

    def chunk_loss(
        self, pred: torch.Tensor, actions: torch.Tensor, valid: torch.Tensor, l1: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Masked regression of the normalised chunk, ``pred`` (..., Ta, A) against raw ``actions``
        (..., Ta, A) where ``valid`` (..., Ta); squared error, or absolute with ``l1`` (ACT). With the
        binary gripper head the last entry is a logit scored by cross-entropy instead."""
        target = self.action_norm.normalize(actions.float())
        mask = valid.float().unsqueeze(-1)  # padded steps don't count

        def error(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            diff = p - t
            return ((diff.abs() if l1 else diff**2) * mask).sum() / (mask.sum() * p.shape[-1]).clamp_min(1.0)

        if not self.binary_gripper:
            loss = error(pred, target)
            return loss, {"loss": float(loss.detach())}
        arm = error(pred[..., :-1], target[..., :-1])
        name = "l1" if l1 else "mse"
        is_open = (actions[..., -1] > 0).float()  # (..., Ta) the expert's decision, from the raw action
        bce = nn.functional.binary_cross_entropy_with_logits(pred[..., -1], is_open, reduction="none")
        bce = (bce * mask[..., 0]).sum() / mask.sum().clamp_min(1.0)
        loss = arm + self.config.gripper_loss_weight * bce
        agree = ((pred[..., -1] > 0).float() == is_open).float()
        accuracy = (agree * mask[..., 0]).sum() / mask.sum().clamp_min(1.0)
        return loss, {
            "loss": float(loss.detach()), f"arm_{name}": float(arm.detach()),
            "gripper_bce": float(bce.detach()), "gripper_accuracy": float(accuracy),
        }  # fmt: skip

    def configure_optimizer(self) -> torch.optim.Optimizer:
        # No weight decay on biases, norm parameters and position embeddings (nanoGPT's grouping); the
        # image encoders at agent.encoder.lr_scale times the rate, or not at all when frozen.
        groups = encoder_param_groups(self, self.encoder, self.config.lr, self.config.weight_decay)
        return torch.optim.AdamW(groups, lr=self.config.lr)

    def after_optimizer_step(self) -> None:
        """Nothing to update after a step (no EMA weights in BC)."""

    # -------------------------------------------------------------------------------------- acting
    def reset(self, seed: int | None = None) -> None:
        self._history.reset()
        self._queue.reset()
        if self._ensembler is not None:
            self._ensembler.reset()

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        """Forget history and queued actions of the envs in ``mask`` (their episodes restarted);
        BC acts deterministically, so the episode ``seeds`` are not needed."""
        self._history.reset_envs(mask)
        self._queue.reset_envs(mask)
        if self._ensembler is not None:
            self._ensembler.reset_envs(mask)

    def _predict(self, history: dict[str, np.ndarray], rows: np.ndarray | None = None) -> np.ndarray:
        """History (n, To, ...) of the env ``rows`` (a (B,) mask; None: all) -> unnormalised action
        chunk (n, Ta, A), in eval mode."""
        device = next(self.parameters()).device
        inputs = {f"obs/{k}": torch.as_tensor(v, device=device) for k, v in history.items()}
        if rows is None:
            rows = np.ones(next(iter(inputs.values())).shape[0], dtype=bool)
        was_training = self.training
        self.eval()
        pred = self.act_forward(inputs, rows)  # (n, Ta, A) normalised; the gripper a logit if binary
        self.train(was_training)
        chunk = self.action_norm.unnormalize(pred)  # (n, Ta, A)
        if self.binary_gripper:
            opened, closed = self._gripper_ends
            chunk[..., -1] = torch.where(pred[..., -1] > 0, opened, closed)
        return chunk.cpu().numpy()

    def act_forward(self, inputs: dict[str, torch.Tensor], rows: np.ndarray) -> torch.Tensor:
        """The normalised chunk the policy acts on; ``rows`` says which envs ``inputs`` are (for
        policies that draw per-episode noise)."""
        return self(inputs)

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched observations -> (B, A) actions in the env's action range."""
        history = self._history.update(obs)
        batch = next(iter(history.values())).shape[0]
        if self._ensembler is not None:
            action = self._ensembler.update(self._predict(history))
            return np.clip(action, self.low, self.high).astype(np.float32)
        # Only the rows that need a new chunk are run through the network.
        action = self._queue.next(
            batch, lambda need: self._predict({k: v[need] for k, v in history.items()}, need)
        )
        return np.clip(action, self.low, self.high).astype(np.float32)

    # ------------------------------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> None:
        save_policy(self, path)
