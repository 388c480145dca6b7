"""Episodes and steps on vector envs, locally or on Ray: see :mod:`workbench.sampler.sampler`."""

from workbench.sampler.episodes import EnvFailure, PolicyFailure
from workbench.sampler.factory import EnvFactory, env_factory
from workbench.sampler.random_policy import RandomPolicy
from workbench.sampler.sampler import BACKENDS, Sampler, StepResult, rollout

__all__ = [
    "BACKENDS",
    "EnvFactory",
    "EnvFailure",
    "PolicyFailure",
    "RandomPolicy",
    "Sampler",
    "StepResult",
    "env_factory",
    "rollout",
]
