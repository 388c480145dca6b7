"""PETS (Chua et al. 2018): probabilistic ensemble dynamics + trajectory-sampling planning.

Acting plans an action sequence for every env row with CEM or MPPI (``agent.planner``) and executes
its first action (model-predictive control), warm-starting the next plan from the rest. A candidate
sequence is scored by propagating ``particles`` copies of the state through the ensemble's elites,
each particle bound to one elite for the whole horizon (TS-infinity), and summing the task's reward
of the imagined states (``envs`` tasks' ``state_reward``, the env's own reward function) or a learned
reward head; the particles' mean is the sequence's value.

Learning (the model-based trainer drives it): ``explore`` acts (uniformly at random for the first
``seed_steps`` env steps), ``observe`` stores transitions, ``update`` refits the ensemble on all of
them every ``train_every`` env steps. Acting for evaluation (``act``) and acting for training
(``explore``) keep separate plans and generators, so evaluating mid-run never changes training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.model_based.config import PETSConfig
from agents.model_based.dynamics import DynamicsEnsemble
from agents.model_based.planners import PlanState, make_planner
from agents.model_based.planning_agent import PlanningAgent
from agents.model_based.replay import TransitionBuffer


class PETSAgent(PlanningAgent):
    def __init__(self, config: PETSConfig, obs_spec: dict[str, Any], action_spec: dict[str, Any]) -> None:
        super().__init__(config.planner.horizon, int(action_spec["shape"][0]), config.seed_steps)
        if "state" not in obs_spec or len(obs_spec["state"]["shape"]) != 1:
            raise ValueError("agent=pets plans over the task state: set env.obs_mode=state")
        if "n" in action_spec or "nvec" in action_spec or len(action_spec["shape"]) != 1:
            raise ValueError("agent=pets needs continuous actions (a Box env.controller, e.g. ee_delta)")
        self.name = config.name
        self.config = config
        self.obs_spec, self.action_spec = obs_spec, action_spec
        self.state_dim = int(obs_spec["state"]["shape"][0])
        self.action_dim = int(action_spec["shape"][0])
        self.task: Any = None
        if config.reward == "task":
            from envs.tasks import get_task

            self.task = get_task(config.env_task)
            if not self.task.has_state_reward:
                raise ValueError(
                    f"task {config.env_task!r} has no reward over states for the planner: "
                    "use agent.reward=learned"
                )
        self.model = DynamicsEnsemble(
            self.state_dim, self.action_dim, config.ensemble, config.reward == "learned"
        )
        self.planner = make_planner(config.planner)
        self.replay = TransitionBuffer(self.state_dim, self.action_dim)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.ensemble.lr, weight_decay=config.ensemble.weight_decay
        )
        # Model fitting's own stream, drawn from the global RNG (seeded by the training seed).
        self.train_generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
        self.fitted_at = -1  # env step of the last model fit (-1: never)

    # ------------------------------------------------------------------------------ planning
    def plan(self, obs: dict[str, np.ndarray], plan_state: PlanState, explore: bool) -> np.ndarray:
        """(B, A) first actions of the plans for ``obs["state"]`` (B, S); warm starts shift by one. CEM's
        and MPPI's sampling explores enough: training acts the same way."""
        states = torch.as_tensor(np.asarray(obs["state"]), dtype=torch.float32)  # (B, S)
        mean, generators = plan_state.warm_start(states.shape[0])
        plan = self.planner.plan(self._objective(states, generators), mean, generators)  # (B, H, A)
        plan_state.shift(plan)
        return plan[:, 0].clamp(-1, 1).numpy().astype(np.float32)

    def _objective(self, states: torch.Tensor, generators: list[torch.Generator]) -> Any:
        """The planner's objective for start ``states`` (B, S): action sequences (B, N, H, A) -> mean
        return over particles (B, N)."""
        k = len(self.model.elites)
        per = self.config.particles // k  # particles per elite member
        reward_mode = self.config.env_reward

        def objective(actions: torch.Tensor) -> torch.Tensor:
            b, n, h, a = actions.shape
            m = b * n * per  # rows per member; order (B, N, per) so row b's noise is its own
            s = (
                states[None, :, None, None, :]
                .expand(k, b, n, per, self.state_dim)
                .reshape(k, m, self.state_dim)
            )
            total = torch.zeros(k, m)
            for t in range(h):
                act = actions[:, :, t][None, :, :, None, :].expand(k, b, n, per, a).reshape(k, m, a)
                noise = torch.stack(
                    [torch.randn(k, n * per, self.model.out_dim, generator=g) for g in generators], dim=1
                ).reshape(k, m, self.model.out_dim)  # (K, M, out), row b from generators[b]
                s, learned = self.model.sample(s, act, noise)
                total += learned if learned is not None else self.task.state_reward(s, reward_mode)
            return total.reshape(k, b, n, per).mean(dim=(0, 3))  # (B, N)

        return objective

    # ------------------------------------------------------------------------------ learning
    def observe(
        self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
        next_obs: dict[str, np.ndarray], terminated: np.ndarray,
    ) -> None:  # fmt: skip
        self.replay.add(state=obs["state"], action=actions, reward=rewards, next_state=next_obs["state"],
                        terminated=terminated)  # fmt: skip

    def update(self, step: int) -> dict[str, float]:
        """Refit the ensemble when ``train_every`` env steps passed since the last fit (the first fit
        once the random seed steps are in); returns what to log."""
        out = self.plan_metrics()
        due = step >= self.config.seed_steps and (
            self.fitted_at < 0 or step - self.fitted_at >= self.config.train_every
        )
        if not due or len(self.replay) < 2:
            return out
        data = self.replay.tensors()
        inputs = torch.cat([data["state"], data["action"]], dim=1)  # (N, S+A)
        targets = data["next_state"] - data["state"]  # (N, S) deltas
        if self.config.reward == "learned":
            targets = torch.cat([targets, data["reward"][:, None]], dim=1)
        self.model.train()
        with torch.enable_grad():
            out.update(self.model.fit(inputs, targets, self.optimizer, self.train_generator))
        self.model.eval()
        self.fitted_at = step
        return out

    def learner_state(self) -> dict[str, Any]:
        """What a checkpoint needs beyond the weights: data, optimizer, RNGs, plans, schedule."""
        return {
            "replay": self.replay.state(),
            "optimizer": self.optimizer.state_dict(),
            "train_generator": self.train_generator.get_state(),
            "exploring": self.exploring.state(),
            "fitted_at": self.fitted_at,
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.replay.load_state(state["replay"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.train_generator.set_state(state["train_generator"])
        self.exploring.load_state(state["exploring"])
        self.fitted_at = int(state["fitted_at"])
