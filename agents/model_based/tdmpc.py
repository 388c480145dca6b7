"""A TD-MPC-style agent (Hansen et al. 2022; TD-MPC2, 2024): a latent world model trained from replay,
acting by MPPI in latent space with a learned value at the horizon's end.

Learning (driven by the model-based trainer like PETS): ``observe`` stores transitions with each row's
episode id and keeps the list of valid ``horizon``-step subsequence starts (all in one episode);
``update`` runs ``seed_steps`` updates once the random seed steps are in, then ``updates_per_step`` per
env step. One update: encode the subsequence's observations; roll the latent dynamics from the first
one and pull each predicted latent to the encoding of the true next observation (temporal
consistency); predict rewards and regress every Q-function to ``r + gamma * (1 - terminated) *
min Q_target(z', pi(z'))``, both as cross-entropy to symlog two-hot targets (scale-free); step
``rho**t`` weights; then the policy prior maximises the Q ensemble's mean (scaled by a running Q
range) plus a small entropy bonus, on detached latents; EMA targets.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.model_based.latent_planner import LatentMPPI
from agents.model_based.planners import PlanState
from agents.model_based.planning_agent import PlanningAgent
from agents.model_based.sequence_replay import SequenceReplay
from agents.model_based.tdmpc_config import TDMPCConfig
from agents.model_based.world_model import WorldModel


class TDMPCAgent(PlanningAgent):
    q_scale: torch.Tensor

    def __init__(self, config: TDMPCConfig, obs_spec: dict[str, Any], action_spec: dict[str, Any]) -> None:
        super().__init__(config.planner.horizon, int(action_spec["shape"][0]), config.seed_steps)
        missing = [k for k in config.obs_keys if k not in obs_spec]
        if missing:
            raise ValueError(
                f"agent.obs_keys {missing} are not in the observations {sorted(obs_spec)}; set env.obs_mode "
                "to include them (e.g. env.obs_mode=state)"
            )
        images = [k for k in config.obs_keys if len(obs_spec[k]["shape"]) == 3]
        others = [k for k in config.obs_keys if k not in images and len(obs_spec[k]["shape"]) != 1]
        if others or any(not k.startswith("rgb/") for k in images):
            raise ValueError(
                f"agent=tdmpc reads vector observations and rgb/<camera> images; {others or images} "
                "are neither"
            )
        if "n" in action_spec or "nvec" in action_spec or len(action_spec["shape"]) != 1:
            raise ValueError("agent=tdmpc needs continuous actions (a Box env.controller, e.g. ee_delta)")
        self.name, self.config = config.name, config
        self.obs_spec, self.action_spec = obs_spec, action_spec
        self.action_dim = int(action_spec["shape"][0])
        self.images = images
        features = self._features_module(obs_spec)
        self.model = WorldModel(features, features.features_dim, self.action_dim, config)
        self.planner = LatentMPPI(config.planner)
        shapes = {k: (tuple(obs_spec[k]["shape"]), np.dtype(obs_spec[k]["dtype"])) for k in config.obs_keys}
        self.replay = SequenceReplay(shapes, self.action_dim, config.planner.horizon)
        m = self.model
        groups: list[dict[str, Any]] = [
            {"params": [p for p in m.features.parameters() if p.requires_grad],
             "lr": config.lr * config.encoder.lr_scale},  # the image encoders (none: an empty group)
            {"params": [*m.encoder.parameters(), *m.dynamics.parameters(), *m.reward.parameters(),
                        *m.qs.parameters()]},
        ]  # fmt: skip
        self.optimizer = torch.optim.Adam(groups, lr=config.lr)
        self.pi_optimizer = torch.optim.Adam(m.pi.parameters(), lr=config.lr, eps=1e-5)
        self.train_generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
        self.updates_owed = 0.0  # fractional updates carried between env steps
        self.pretrained = False
        self.register_buffer("q_scale", torch.ones(()))  # running Q range for the policy loss

    # ------------------------------------------------------------------------------ planning
    def _features_module(self, obs_spec: dict[str, Any]) -> Any:
        """The workbench's SB3-compatible extractor over the obs keys: images (channel-first, [0, 1])
        through one encoder per camera, vectors flattened and joined."""
        import gymnasium as gym

        from agents.rl.extractor import WorkbenchExtractor

        spaces: dict[str, Any] = {}
        for key in self.config.obs_keys:
            shape = tuple(obs_spec[key]["shape"])
            if key in self.images:
                h, w, c = shape
                spaces[key] = gym.spaces.Box(0, 255, (c, h, w), np.uint8)
            else:
                spaces[key] = gym.spaces.Box(-np.inf, np.inf, shape, np.float32)
        return WorkbenchExtractor(gym.spaces.Dict(spaces), encoder=asdict(self.config.encoder))

    def _inputs(self, obs: dict[str, Any], lead: int) -> tuple[dict[str, torch.Tensor], tuple[int, ...]]:
        """Observation entries with ``lead`` leading dims -> the features module's inputs, leading dims
        flattened: images uint8 (..., H, W, C) -> float (N, C, H, W) in [0, 1], vectors float (N, D)."""
        out: dict[str, torch.Tensor] = {}
        dims: tuple[int, ...] = ()
        for key in self.config.obs_keys:
            x = torch.as_tensor(np.asarray(obs[key]) if not isinstance(obs[key], torch.Tensor) else obs[key])
            dims = tuple(x.shape[:lead])
            x = x.reshape(-1, *x.shape[lead:])
            out[key] = x.permute(0, 3, 1, 2).float() / 255.0 if key in self.images else x.float()
        return out, dims

    def _encode(self, obs: dict[str, Any], lead: int = 1, target: bool = False) -> torch.Tensor:
        """Latents (*lead, L); ``target``: the EMA encoder's where there is one (the losses' targets)."""
        inputs, dims = self._inputs(obs, lead)
        return (self.model.encode_target if target else self.model.encode)(inputs, dims)

    def plan(self, obs: dict[str, np.ndarray], state: PlanState, explore: bool) -> np.ndarray:
        """(B, A): the latent plan's first action (plus the planner's std as noise when exploring)."""
        cfg, model = self.config.planner, self.model
        self.model.features.eval()  # acting sees centre crops; training's random crops are for learning
        try:
            z0 = self._encode(obs)  # (B, L)
        finally:
            self.model.features.train()
        warm, gens = state.warm_start(z0.shape[0])
        prior = None
        if cfg.prior_samples:  # the policy prior's own sequences among the candidates
            z = z0[:, None].expand(-1, cfg.prior_samples, -1)
            steps = []
            for _ in range(cfg.horizon):
                noise = torch.stack(
                    [torch.randn(cfg.prior_samples, self.action_dim, generator=g) for g in gens]
                )
                a, _ = model.policy(z, noise)
                steps.append(a)
                z = model.next(z, a)
            prior = torch.stack(steps, dim=2)  # (B, P, H, A)
        mean, std = self.planner.plan(self._value(z0), warm, gens, prior)
        action = mean[:, 0]
        if explore:
            action = action + std[:, 0] * torch.stack(
                [torch.randn(self.action_dim, generator=g) for g in gens]
            )
        state.shift(mean)
        return action.clamp(-1, 1).numpy().astype(np.float32)

    def _value(self, z0: torch.Tensor) -> Any:
        """Objective: (B, N, H, A) sequences -> (B, N) discounted latent rewards + the Q ensemble's
        mean value of the policy prior's mean action at the end."""
        gamma = self.config.gamma

        def objective(actions: torch.Tensor) -> torch.Tensor:
            z = z0[:, None].expand(-1, actions.shape[1], -1)
            total, discount = torch.zeros(actions.shape[:2]), 1.0
            for t in range(actions.shape[2]):
                total = total + discount * self.model.rew(z, actions[:, :, t])
                z = self.model.next(z, actions[:, :, t])
                discount *= gamma
            a, _ = self.model.policy(z, None)
            return total + discount * self.model.q(z, a).mean(0)

        return objective

    # ------------------------------------------------------------------------------ learning
    def start_rows(self, mask: np.ndarray, seeds: list[int]) -> None:
        super().start_rows(mask, seeds)
        self.replay.new_episodes(mask)

    def observe(
        self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
        next_obs: dict[str, np.ndarray], terminated: np.ndarray,
    ) -> None:  # fmt: skip
        self.replay.add({k: obs[k] for k in self.config.obs_keys}, actions, rewards,
                        {k: next_obs[k] for k in self.config.obs_keys}, terminated)  # fmt: skip

    def update(self, step: int) -> dict[str, float]:
        out = self.plan_metrics()
        if step < self.config.seed_steps or not self.replay.starts:
            return out
        if not self.pretrained:  # TD-MPC2: as many updates as seed steps once they are in
            self.pretrained = True
            self.updates_owed += self.config.seed_steps
        self.updates_owed += self.config.updates_per_step * self.config.num_envs
        metrics: list[dict[str, float]] = []
        while self.updates_owed >= 1:
            self.updates_owed -= 1
            metrics.append(self._update())
        if metrics:
            out.update({k: float(np.mean([m[k] for m in metrics])) for k in metrics[0]})
        return out

    def _update(self) -> dict[str, float]:
        cfg, model = self.config, self.model
        batch = self.replay.sample(cfg.batch_size, max(1, len(self.replay.row_episode)), self.train_generator)
        horizon = batch["action"].shape[0]
        obs = {k[len("obs/") :]: v for k, v in batch.items() if k.startswith("obs/")}  # (H, B, ...)
        next_obs = {k[len("next_obs/") :]: v for k, v in batch.items() if k.startswith("next_obs/")}
        weights = cfg.rho ** torch.arange(horizon, dtype=torch.float32)  # (H,)
        with torch.no_grad():
            next_z = self._encode(next_obs, lead=2, target=True)  # (H, B, L)
            noise = torch.randn((*next_z.shape[:-1], self.action_dim), generator=self.train_generator)
            next_a, _ = model.policy(next_z, noise)
            target_q = model.q(next_z, next_a, target=True).min(0).values  # (H, B)
            td = batch["reward"] + cfg.gamma * (1 - batch["terminated"]) * target_q
        z = self._encode({k: v[0] for k, v in obs.items()})  # (B, L)
        zs, consistency = [], torch.zeros(())
        for t in range(horizon):
            zs.append(z)
            z = model.next(z, batch["action"][t])
            consistency = consistency + weights[t] * ((z - next_z[t]) ** 2).mean()
        latents = torch.stack(zs)  # (H, B, L)
        two_hot = model.two_hot
        reward_logits = model.reward_logits(latents, batch["action"])  # (H, B, K)
        reward_loss = (weights[:, None] * two_hot.loss(reward_logits, batch["reward"])).mean()
        q_logits = model.q_logits(latents, batch["action"])  # (Q, H, B, K)
        # td (H, B) broadcasts over the Q-functions: its two-hot is built once, not once per Q.
        value_loss = (weights[None, :, None] * two_hot.loss(q_logits, td)).mean()
        loss = (
            cfg.consistency_coef * consistency + cfg.reward_coef * reward_loss + cfg.value_coef * value_loss
        ) / horizon
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(
            [p for group in self.optimizer.param_groups for p in group["params"]], cfg.grad_clip
        )
        self.optimizer.step()
        pi_loss = self._update_policy(latents.detach(), weights)
        model.update_targets(cfg.tau)
        return {"consistency_loss": float(consistency.detach()), "reward_loss": float(reward_loss.detach()),
                "value_loss": float(value_loss.detach()), "pi_loss": pi_loss, "grad_norm": float(grad_norm),
                # Spread of the encoder's latents over the batch: near 0 means a collapsed encoder (every
                # observation the same latent), which the consistency loss alone rewards.
                "latent_std": float(latents[0].detach().std(0).mean()),
                "q_scale": float(self.q_scale)}  # fmt: skip

    def _update_policy(self, latents: torch.Tensor, weights: torch.Tensor) -> float:
        model = self.model
        noise = torch.randn((*latents.shape[:-1], self.action_dim), generator=self.train_generator)
        a, log_prob = model.policy(latents, noise)
        model.qs.requires_grad_(False)
        q = model.q(latents, a).mean(0)  # (H, B)
        model.qs.requires_grad_(True)
        with torch.no_grad():  # TD-MPC2's running scale: the 5-95% range of Q, EMA 0.01
            spread = torch.quantile(q.flatten(), 0.95) - torch.quantile(q.flatten(), 0.05)
            self.q_scale.lerp_(spread.clamp_min(1.0), 0.01)
        loss = ((self.config.entropy_coef * log_prob - q / self.q_scale) * weights[:, None]).mean()
        self.pi_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.pi.parameters(), self.config.grad_clip)
        self.pi_optimizer.step()
        return float(loss.detach())

    def learner_state(self) -> dict[str, Any]:
        return {
            "replay": self.replay.state(),
            "optimizer": self.optimizer.state_dict(),
            "pi_optimizer": self.pi_optimizer.state_dict(),
            "train_generator": self.train_generator.get_state(),
            "exploring": self.exploring.state(),
            "updates_owed": self.updates_owed,
            "pretrained": self.pretrained,
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.replay.load_state(state["replay"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.pi_optimizer.load_state_dict(state["pi_optimizer"])
        self.train_generator.set_state(state["train_generator"])
        self.exploring.load_state(state["exploring"])
        self.updates_owed = float(state["updates_owed"])
        self.pretrained = bool(state["pretrained"])
