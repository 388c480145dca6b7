"""DrQ's wiring of SAC's and TQC's shared image encoder (agents/rl/drq.py): the critic's loss trains it,
the actor reads it detached, the target critic keeps its own copy."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.encoder_config import EncoderConfig
from agents.rl.algorithms import build_algorithm
from agents.rl.config import SACConfig, TQCConfig


class PixelEnv(gym.Env):
    """A camera and a vector, random content: only the networks' wiring is under test."""

    observation_space = gym.spaces.Dict({
        "rgb/front": gym.spaces.Box(0, 255, (3, 36, 36), np.uint8),
        "proprio": gym.spaces.Box(-1, 1, (3,), np.float32),
    })  # fmt: skip
    action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict]:
        return self.observation_space.sample(), float(action.sum()), False, False, {}


def _algorithm(config_class: Any) -> Any:
    encoder = EncoderConfig(name="nature_cnn", feature_dim=8, crop_ratio=1.0)
    config = config_class(batch_size=8, buffer_size=64, learning_starts=16, net_arch=[16, 16],
                          share_features_extractor=True, encoder=encoder)  # fmt: skip
    return build_algorithm(config, DummyVecEnv([PixelEnv]), seed=0, device="cpu")


def _encoder_weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("config_class", [SACConfig, TQCConfig])
def test_the_critic_trains_the_one_encoder_and_the_actor_reads_it_detached(config_class: Any) -> None:
    model = _algorithm(config_class)
    policy = model.policy
    encoder = policy.actor.features_extractor
    assert policy.critic.features_extractor is encoder
    assert policy.critic_target.features_extractor is not encoder
    ids = {id(p) for p in encoder.parameters()}
    actor_params = {id(p) for g in policy.actor.optimizer.param_groups for p in g["params"]}
    critic_params = {id(p) for g in policy.critic.optimizer.param_groups for p in g["params"]}
    assert not ids & actor_params and ids <= critic_params

    obs, _ = PixelEnv().reset(seed=0)
    batch = {k: torch.as_tensor(v)[None] for k, v in obs.items()}
    policy.actor(batch).sum().backward()  # the actor's output carries no gradient into the encoder
    assert all(p.grad is None for p in encoder.parameters())
    action = torch.zeros(1, 2)
    policy.critic(batch, action)[0].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())

    before = _encoder_weights(encoder)
    target_before = _encoder_weights(policy.critic_target.features_extractor)
    model.learn(32)  # 16 updates after learning_starts
    assert all(not torch.equal(a, b) for a, b in zip(before, encoder.parameters(), strict=True))
    after = policy.critic_target.features_extractor.parameters()
    assert any(not torch.equal(a, b) for a, b in zip(target_before, after, strict=True))  # Polyak
