"""DrQ's wiring of one image encoder shared by SAC's (or TQC's) actor and critic.

SB3's own ``share_features_extractor=True`` trains the shared encoder with the *actor's* loss and
computes the critic's features without gradients. Pixel RL found the opposite works (SAC-AE, Yarats
et al. 2019; DrQ, Kostrikov et al. 2020): the critic's TD loss trains the encoder and the actor reads
its features detached, because the actor's gradient through the encoder is noisy and destabilises
it. These policies give SB3's algorithms that wiring; the algorithms' update code is untouched:

- the actor's features are detached and its optimizer leaves the encoder out;
- the critic computes its features with gradients and its optimizer holds the encoder;
- the target critic keeps its own copy of the encoder, Polyak-averaged with the rest (SB3's update).

One encoder instead of two also halves the encoder work of acting and of the actor's update.
"""

from __future__ import annotations

from typing import Any

import torch
from sb3_contrib.tqc.policies import Actor as TQCActor
from sb3_contrib.tqc.policies import MultiInputPolicy as TQCMultiInputPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor as SACActor
from stable_baselines3.sac.policies import MultiInputPolicy as SACMultiInputPolicy


class DetachedSACActor(SACActor):
    def extract_features(self, obs: Any, features_extractor: BaseFeaturesExtractor) -> torch.Tensor:
        return super().extract_features(obs, features_extractor).detach()


class DetachedTQCActor(TQCActor):
    def extract_features(self, obs: Any, features_extractor: BaseFeaturesExtractor) -> torch.Tensor:
        return super().extract_features(obs, features_extractor).detach()


def _rewire(policy: Any, lr: float) -> None:
    """After SB3's ``_build`` with a shared extractor: hand the encoder from the actor's optimizer to
    the critic's, and let the critic's features carry gradients."""
    encoder = {id(p) for p in policy.actor.features_extractor.parameters()}
    policy.critic.share_features_extractor = False  # ContinuousCritic: features with gradients
    policy.actor.optimizer = policy.optimizer_class(
        [p for p in policy.actor.parameters() if id(p) not in encoder], lr=lr, **policy.optimizer_kwargs
    )
    policy.critic.optimizer = policy.optimizer_class(
        list(policy.critic.parameters()), lr=lr, **policy.optimizer_kwargs
    )


class DrQSACPolicy(SACMultiInputPolicy):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["share_features_extractor"] = True
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> SACActor:
        kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return DetachedSACActor(**kwargs).to(self.device)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        _rewire(self, lr_schedule(1))


class DrQTQCPolicy(TQCMultiInputPolicy):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["share_features_extractor"] = True
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> TQCActor:
        kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return DetachedTQCActor(**kwargs).to(self.device)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        _rewire(self, lr_schedule(1))


POLICIES = {"sac": DrQSACPolicy, "tqc": DrQTQCPolicy}
