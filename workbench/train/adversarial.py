"""Adversarial imitation (GAIL) in the online trainer: SB3's algorithm learns from a discriminator's
reward instead of the env's.

Each iteration: SB3 collects as usual, except that :class:`~workbench.train.sb3_env.SamplerVecEnv`
answers every step with r = -log(1 - D(s, a)) (``reward_fn``) and keeps the (s, a) pairs; then
``adversarial.updates`` discriminator steps on those pairs against as many expert pairs (drawn from
the run's demos by the trainer's own generator); then SB3's update. The discriminator, its optimizer
and its generator are part of the checkpoint, so a resumed run continues exactly. The env's return
and success are still logged (they never train), and the policy is scored by the env's success.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.imitation.adversarial_config import AdversarialConfig
from agents.imitation.discriminator import Discriminator
from workbench.errors import UserError
from workbench.train.online import OnlineTrainer


def expert_pairs(demos: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Every (state, action) pair of a demos dataset: (N, S) and (N, A) float32."""
    from workbench.data import iter_episodes

    states, actions = [], []
    for episode in iter_episodes(demos, obs_keys=[key]):
        if key not in episode.obs:
            raise UserError(f"{demos} records no {key!r} observation for the discriminator")
        states.append(episode.obs[key][:-1].reshape(len(episode.actions), -1))  # the state each action saw
        actions.append(episode.actions)
    return np.concatenate(states).astype(np.float32), np.concatenate(actions).astype(np.float32)


class GAILTrainer(OnlineTrainer):
    def __init__(
        self, *args: Any, discriminator: Discriminator, expert: tuple[np.ndarray, np.ndarray],
        config: AdversarialConfig, seed: int, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.discriminator, self.adv = discriminator, config
        self.expert = torch.as_tensor(np.concatenate(expert, axis=1))  # (N, S + A)
        self.disc_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.lr)
        self.disc_generator = torch.Generator().manual_seed(seed)
        self.venv.reward_fn = discriminator.reward
        self.venv.reward_key = config.obs_key

    def train_step(self) -> dict[str, float]:
        self.venv.pairs.clear()
        collected = self.collect()
        metrics = self.update_discriminator()
        self.learn(collected)
        return {**self._sb3_metrics(), **metrics}

    def update_discriminator(self) -> dict[str, float]:
        """``adversarial.updates`` steps on this iteration's policy pairs against expert pairs."""
        if not self.venv.pairs:
            return {}
        states = np.concatenate([s for s, _ in self.venv.pairs])
        actions = np.concatenate([a for _, a in self.venv.pairs])
        policy = torch.as_tensor(np.concatenate([states, actions], axis=1))  # (M, S + A)
        reward = float(self.discriminator.reward(states, actions).mean())
        totals: dict[str, float] = {}
        for _ in range(self.adv.updates):
            n = min(self.adv.batch_size, len(policy))
            rows_p = torch.randint(len(policy), (n,), generator=self.disc_generator)
            rows_e = torch.randint(len(self.expert), (n,), generator=self.disc_generator)
            loss, info = self.discriminator.loss(
                self.expert[rows_e], policy[rows_p], self.adv.gradient_penalty, self.disc_generator
            )
            self.disc_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.disc_optimizer.step()
            for key, value in info.items():
                totals[key] = totals.get(key, 0.0) + value / self.adv.updates
        return {**totals, "gail_reward": reward}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "discriminator": self.discriminator.state_dict(),
                "disc_optimizer": self.disc_optimizer.state_dict(),
                "disc_generator": self.disc_generator.get_state()}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(payload["discriminator"])
        self.disc_optimizer.load_state_dict(payload["disc_optimizer"])
        self.disc_generator.set_state(payload["disc_generator"])
        super().load_state(payload)  # restores the envs last: their first state needs the reward's key
