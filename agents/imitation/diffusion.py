"""Diffusion Policy (Chi et al. 2023, "Visuomotor Policy Learning via Action Diffusion").

The policy is a conditional denoiser over a chunk of future actions:

    training  (DDPM, sec. 3.1)  a_k = sqrt(abar_k) a_0 + sqrt(1 - abar_k) eps
                                loss = ||a_0 - f_theta(a_k, k, o)||^2   (prediction_type=sample,
                                the default: converges faster on a CPU budget), or the paper's
                                ||eps - eps_theta(a_k, k, o)||^2        (prediction_type=epsilon)
    acting    (DDIM, sec. 4.4)  a_K ~ N(0, I), 10 deterministic denoising steps -> a_0 (the chunk);
                                with sampler=ddpm all K stochastic steps (``num_inference_steps``
                                overrides either count)

Action window (the paper's and its reference code's convention, which LeRobot's diffusion policy
shares). At step t the denoiser is conditioned on the To = ``obs_horizon`` frames o[t-To+1 .. t]
and denoises Tp = ``action_horizon`` actions that start at the *first* observation frame:

    chunk[j] = a[t-To+1+j],  j = 0 .. Tp-1            training target: cat(past_action, action)[:Tp]
    executed = chunk[To-1 .. To-1+Ta-1] = a[t .. t+Ta-1]         Ta = ``execute_horizon``

so the To-1 leading entries re-predict actions already taken (context that keeps consecutive chunks
consistent) and never run, and the Ta executed ones start at the current step; hence
Tp >= To-1+Ta. They run from a per-env queue before planning again (receding horizon, sec. 3.3:
long enough for temporal consistency, short enough to react). Inputs and actions are min-max
normalised to [-1, 1] with statistics stored as buffers, and an EMA of the weights is what acts
(evaluation) and what is saved beside the raw weights.

The observation encoder (``agents.imitation.obs_encoder``, shared with BC) follows the paper:
low-dimensional keys are normalised and concatenated; each camera has its own ResNet-18 with
GroupNorm and a spatial-softmax head (sec. 4.2), trained from scratch with random crops in training
mode (centre crops when acting). The denoiser is the 1-D temporal U-Net
with FiLM (``foundation.unet1d``) or, as an option, the causal transformer
(``foundation.transformer.TransformerDenoiser``).

Padded actions (the dataset repeats the first action before an episode's start and the last one
past its end) are *not* masked out of the loss, as in the reference implementation: "stay where the
demo ended" is a useful target.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.imitation.acting import ActionQueue, ObsHistory, RowGenerators
from agents.imitation.diffusion_config import DiffusionConfig
from agents.imitation.obs_encoder import ObsEncoder, encoder_param_groups
from agents.policy_io import save_policy
from foundation.ema import EMA
from foundation.noise_schedules import NoiseSchedule
from foundation.normalizer import Normalizer
from foundation.transformer import TransformerDenoiser
from foundation.unet1d import ConditionalUnet1D


class DiffusionAgent(nn.Module):
    name = "diffusion"
    config_class = DiffusionConfig

    def __init__(
        self,
        config: DiffusionConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_spec
        self.action_dim = int(math.prod(action_spec["shape"]))
        # Min-max to [-1, 1] for inputs and actions (the range the denoiser's clipping assumes).
        obs_encoder = ObsEncoder(obs_spec, config.obs_keys, config.encoder, normalization="minmax")
        # Identity until `set_stats`; a loaded checkpoint overwrites the buffers.
        self.action_norm = Normalizer.identity((self.action_dim,), "minmax")
        step_feat = obs_encoder.feature_dim
        denoiser: nn.Module
        if config.denoiser == "unet":
            denoiser = ConditionalUnet1D(
                self.action_dim,
                step_feat * config.obs_horizon,
                config.down_dims,
                config.kernel_size,
                config.n_groups,
                config.step_embed_dim,
            )
        else:
            denoiser = TransformerDenoiser(
                self.action_dim,
                config.action_horizon,
                step_feat,
                config.obs_horizon,
                config.d_model,
                config.n_layers,
                config.n_heads,
                config.dropout,
            )
        # Everything that learns lives in `model`; `ema.averaged` is its smoothed copy.
        self.model = nn.ModuleDict({"obs_encoder": obs_encoder, "denoiser": denoiser})
        if stats is not None:
            self.set_stats(stats)
        self.ema = EMA(self.model, config.ema_power, config.ema_max_decay) if config.use_ema else None
        self.schedule = NoiseSchedule(
            num_train_timesteps=config.num_train_timesteps,
            beta_schedule=config.beta_schedule,
            prediction_type=config.prediction_type,
            clip_sample=config.clip_sample,
            sampler=config.sampler,
            num_inference_steps=config.num_inference_steps,
        )
        self.low = np.asarray(action_spec.get("low", -1.0), dtype=np.float32)
        self.high = np.asarray(action_spec.get("high", 1.0), dtype=np.float32)
        self._generators = RowGenerators()  # sampling noise when acting, per episode seed
        self._history = ObsHistory(config.obs_keys, config.obs_horizon)
        self._queue = ActionQueue(config.execute_horizon, self.action_dim)

    # ------------------------------------------------------------------------------------ networks
    def set_stats(self, stats: dict[str, Any]) -> None:
        """``stats`` as :attr:`SequenceDataset.stats` gives them: keyed ``obs/<key>`` and ``action``."""
        encoders = [self.model["obs_encoder"]]
        if getattr(self, "ema", None) is not None:  # keep the acting copy's statistics in step
            encoders.append(self.ema.averaged["obs_encoder"])  # type: ignore[union-attr, index]
        for encoder in encoders:
            encoder.set_stats(stats)  # type: ignore[operator]
        self.action_norm = Normalizer.from_stats(stats["action"], "minmax")

    @property
    def acting_model(self) -> nn.ModuleDict:
        """The weights that act: the EMA copy when enabled."""
        return self.ema.averaged if self.ema is not None else self.model  # type: ignore[return-value]

    def denoise(
        self, model: nn.ModuleDict, noisy: torch.Tensor, k: torch.Tensor, feats: torch.Tensor
    ) -> torch.Tensor:
        """eps_theta(a_k, k, obs): noisy (B, Ta, A), k (B,), feats (B, To, F) -> (B, Ta, A)."""
        if self.config.denoiser == "unet":
            return model["denoiser"](noisy, k, feats.flatten(1))  # global condition (B, To * F)
        return model["denoiser"](noisy, k, feats)  # one condition token per observation step

    # ----------------------------------------------------------------------------------- training
    def action_window(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The training target chunk a[t-To+1 .. t-To+Tp] (B, Tp, A), from the first observation frame.

        Cut from the dataset's ``past_action`` a[t-To+1 .. t-1] and ``action`` a[t .. t+Tp-1].
        """
        if self.config.obs_horizon > 1 and "past_action" not in batch:
            raise KeyError("the action window needs batch['past_action'] (workbench.dataset.SequenceDataset)")
        past = batch.get("past_action", batch["action"][:, :0])  # (B, To-1, A)
        return torch.cat([past, batch["action"]], dim=1)[:, : self.config.action_horizon]  # (B, Tp, A)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """loss = || target_k - f_theta(a_k, k, o) ||^2, target_k = a_0 (``sample``), eps or v."""
        # The encoder random-crops images in training mode (the trainer calls agent.train()).
        feats = self.model["obs_encoder"](batch)  # (B, To, F)
        actions = self.action_norm(self.action_window(batch).float())  # (B, Tp, A) in [-1, 1]
        noise = torch.randn_like(actions)  # (B, Tp, A)
        k = self.schedule.sample_timesteps(actions.shape[0], actions.device)  # (B,)
        noisy = self.schedule.add_noise(actions, noise, k)  # (B, Tp, A)
        noise_pred = self.denoise(self.model, noisy, k, feats)  # (B, Tp, A)
        target = self.schedule.target(actions, noise, k)
        loss = nn.functional.mse_loss(noise_pred, target)
        return loss, {"loss": float(loss.detach())}

    def configure_optimizer(self) -> torch.optim.Optimizer:
        # Only `model` is optimised (the EMA copy and normalisers are not); no weight decay on biases
        # and norm parameters (nanoGPT's grouping). betas=(0.95, 0.999) as in Diffusion Policy.
        encoder = self.model["obs_encoder"]
        assert isinstance(encoder, ObsEncoder)
        groups = encoder_param_groups(self.model, encoder, self.config.lr, self.config.weight_decay)
        return torch.optim.AdamW(groups, lr=self.config.lr, betas=(0.95, 0.999))

    def after_optimizer_step(self) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    # -------------------------------------------------------------------------------------- acting
    @torch.no_grad()
    def predict_chunk(
        self, obs: dict[str, torch.Tensor], generator: torch.Generator | list[torch.Generator] | None = None
    ) -> torch.Tensor:
        """obs[``obs/<key>``] (B, To, ...) -> the whole predicted chunk (B, Tp, A) in env units;
        entry j is the action at step t-To+1+j (the first To-1 are past actions, see the module doc).

        Runs the reverse diffusion with the acting (EMA) weights in eval mode.
        """
        model = self.acting_model
        was_training = model.training
        model.eval()
        try:
            feats = model["obs_encoder"](obs)  # (B, To, F), centre-cropped images in eval mode
            batch = feats.shape[0]
            shape = (batch, self.config.action_horizon, self.action_dim)
            chunk = self.schedule.sample(
                lambda x, k: self.denoise(model, x, k, feats), shape, feats.device, generator
            )  # (B, Tp, A) normalised
        finally:
            model.train(was_training)
        return self.action_norm.unnormalize(chunk)

    def reset(self, seed: int | None = None) -> None:
        self._history.reset()
        self._queue.reset()
        self._generators.reset(seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        """Forget history and queued actions of the envs in ``mask`` (their episodes restarted) and
        reseed their sampling noise from the new episodes' ``seeds``."""
        self._history.reset_envs(mask)
        self._queue.reset_envs(mask)
        self._generators.reset_envs(mask, seeds)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched observations -> (B, A) actions in the env's action range.

        Rows whose queue is empty (or whose episode restarted) get a new chunk; the others keep
        executing theirs, so envs of a vector env replan independently. The queue gets the chunk
        from entry To-1, the current step's action, on.
        """
        history = self._history.update(obs)
        batch = next(iter(history.values())).shape[0]
        device = next(self.parameters()).device
        start = self.config.obs_horizon - 1

        def predict(need: np.ndarray) -> np.ndarray:
            inputs = {f"obs/{k}": torch.as_tensor(v[need], device=device) for k, v in history.items()}
            chunk = self.predict_chunk(inputs, self._generators.for_rows(need))  # (n, Tp, A) from step t-To+1
            return chunk[:, start:].cpu().numpy()  # (n, Tp-To+1, A) from step t; the queue runs Ta

        action = self._queue.next(batch, predict)
        if not np.isfinite(action).all():
            raise FloatingPointError("diffusion policy produced a non-finite action; the weights are broken")
        return np.clip(action, self.low, self.high).astype(np.float32)

    # ------------------------------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> None:
        save_policy(self, path)

