"""The agent registry: one :class:`AgentSpec` per agent, in one explicit dict.

A spec names the agent's config factory (a dataclass, or a ``functools.partial`` of one with a
variant's defaults: ``bc_rnn`` is BC with ``backbone="rnn"``), the agent class (a dotted path,
imported only when an agent is built, so the CLI validates and prints help without torch), its
family and the trainer that trains it, and which config keys change only how a trained policy acts
(``workbench eval run=R agent.execute_horizon=4``). Families:

    offline     learns from a dataset (imitation, VLA)               -> the offline trainer
    online      learns from its own interaction (RL, model-based RL) -> the online trainer (SB3's
                algorithms), the rllib trainer (RLlib's drive their own loop) or the model_based
                trainer (our own agents, stepped through agents.base.OnlineLearner)
    perception  supervised / self-supervised models on sim frames    -> the perception trainer

DAgger is not an entry: it is the online loop of ``agents.imitation.dagger_loop`` around any
offline BC agent (``agent=dagger`` is ``agent=bc dagger.rounds=5``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.imitation.act_config import ACTConfig
from agents.imitation.bc_config import BCConfig
from agents.imitation.diffusion_config import DiffusionConfig
from agents.model_based.config import PETSConfig
from agents.model_based.tdmpc_config import TDMPCConfig
from agents.rl.config import DQNConfig, PPOConfig, SACConfig, TD3Config, TQCConfig
from agents.rl.rllib_config import RLlibPPOConfig, RLlibSACConfig
from agents.vla.config import Pi0Config, RTConfig

FAMILIES = ("offline", "online", "perception")


@dataclass(frozen=True)
class AgentSpec:
    name: str
    config: Callable[..., Any]  # () -> the agent's config dataclass with the variant's defaults
    agent_class: str  # "module:Class", imported lazily
    family: str  # offline | online | perception
    trainer: str  # the workbench trainer that trains it (one per family)
    acting_keys: tuple[str, ...]  # config keys that only change acting: safe to override at eval
    summary: str

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"agent {self.name}: family {self.family!r} is not one of {FAMILIES}")

    def load_class(self) -> Any:
        module, attr = self.agent_class.split(":")
        return getattr(importlib.import_module(module), attr)


_SB3 = "agents.rl.sb3_agent:SB3Agent"
_RLLIB = "agents.rl.rllib_agent:RLlibAgent"
_BC_ACTING = ("execute_horizon", "temporal_ensemble", "ensemble_decay")

AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec(
            "bc", BCConfig, "agents.imitation.bc:BCAgent", "offline", "offline", _BC_ACTING,
            "behaviour cloning: MLP over stacked frames (images through ResNet-18-GN encoders)",
        ),
        # robomimic's BC-RNN and BC-Transformer read a 10-frame history.
        AgentSpec(
            "bc_rnn", functools.partial(BCConfig, name="bc_rnn", backbone="rnn", obs_horizon=10),
            "agents.imitation.bc:BCAgent", "offline", "offline", _BC_ACTING,
            "BC-RNN (robomimic): an LSTM over a 10-frame history",
        ),
        AgentSpec(
            "bc_transformer",
            functools.partial(
                BCConfig, name="bc_transformer", backbone="transformer", obs_horizon=10, dropout=0.1
            ),
            "agents.imitation.bc:BCAgent", "offline", "offline", _BC_ACTING,
            "BC-Transformer (robomimic): a causal transformer over a 10-frame history",
        ),
        AgentSpec(
            "act", ACTConfig, "agents.imitation.act:ACTAgent", "offline", "offline", (*_BC_ACTING, "latent"),
            "ACT (Zhao et al. 2023): a conditional VAE over action chunks, transformer encoder/decoder",
        ),
        # State and image variants and the transformer denoiser are configs of one agent (configs/agent/).
        AgentSpec(
            "diffusion", DiffusionConfig, "agents.imitation.diffusion:DiffusionAgent", "offline", "offline",
            ("execute_horizon", "num_inference_steps", "sampler"),
            "Diffusion Policy (Chi et al. 2023): a denoiser over action chunks, receding horizon",
        ),
        # Vision-language-action: camera + proprio + instruction, trained on demonstrations (agents/vla/).
        AgentSpec("vla_rt", RTConfig, "agents.vla.rt:RTAgent", "offline", "offline",
                  ("execute_horizon", "bin_decode"),
                  "RT-1/RT-2 style VLA: FiLM-conditioned conv tokens, transformer, actions as bin tokens"),
        AgentSpec("vla_pi0", Pi0Config, "agents.vla.pi0:Pi0Agent", "offline", "offline",
                  ("execute_horizon", "flow_steps"),
                  "pi0 style VLA: image+instruction transformer prefix, flow-matching action expert"),
        # Model-free RL: Stable-Baselines3's (and sb3-contrib's) algorithms, wired by agents/rl/.
        AgentSpec("dqn", DQNConfig, _SB3, "online", "online", (),
                  "DQN (SB3): epsilon-greedy Q-learning for discrete actions (env.controller=discrete)"),
        AgentSpec("ppo", PPOConfig, _SB3, "online", "online", (),
                  "PPO (SB3): clipped policy gradient, discrete or continuous actions"),
        AgentSpec("sac", SACConfig, _SB3, "online", "online", (),
                  "SAC (SB3): soft actor-critic; agent.her=true relabels goals (env.obs_mode=goal)"),
        AgentSpec("td3", TD3Config, _SB3, "online", "online", (),
                  "TD3 (SB3): twin delayed DDPG with Gaussian exploration; agent.her=true for goal envs"),
        AgentSpec("tqc", TQCConfig, _SB3, "online", "online", (),
                  "TQC (sb3-contrib): SAC with truncated quantile critics; agent.her=true for goal envs"),
        # RLlib (new API stack): its EnvRunner actors and Learner on Ray, in the workbench's run layout.
        AgentSpec("rllib_ppo", RLlibPPOConfig, _RLLIB, "online", "rllib", (),
                  "PPO (RLlib): EnvRunner actors on Ray sample, RLlib's Learner updates"),
        AgentSpec("rllib_sac", RLlibSACConfig, _RLLIB, "online", "rllib", (),
                  "SAC (RLlib): off-policy on Ray with RLlib's episode replay buffer"),
        # Model-based RL: our own code (no kept library serves it), trained by the model-based trainer.
        AgentSpec("pets", PETSConfig, "agents.model_based.pets:PETSAgent", "online", "model_based", (),
                  "PETS: probabilistic dynamics ensemble + CEM/MPPI planning with trajectory sampling"),
        AgentSpec("tdmpc", TDMPCConfig, "agents.model_based.tdmpc:TDMPCAgent", "online", "model_based", (),
                  "TD-MPC style: latent world model, Q ensemble and policy prior; MPPI in latent space"),
    )
}  # fmt: skip


def get_spec(name: str) -> AgentSpec:
    if name not in AGENTS:
        raise KeyError(f"unknown agent {name!r}; valid choices: {sorted(AGENTS)}")
    return AGENTS[name]


def agent_class(name: str) -> Any:
    return get_spec(name).load_class()
