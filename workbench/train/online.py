"""The online trainer: SB3's algorithms stepping the workbench's envs, in the shared training loop.

One ``train_step`` is one iteration of SB3's own ``learn`` loop: collect (``train_freq`` env steps
per env for the off-policy algorithms, ``n_steps`` for PPO), then SB3's ``train``. The trainer's
step counter is SB3's ``num_timesteps`` (env steps), so ``agent.steps``, ``trainer.log_every``,
``trainer.checkpoint_every`` and ``trainer.eval_every`` all count env steps. Checkpoints, metrics
(metrics.jsonl and TensorBoard), validation on the validation seeds, keeping the best policy and the
final evaluation are the shared :class:`~workbench.train.base.Trainer`'s, as for every family.

Exact resume: a checkpoint holds the policy, SB3's optimizers, counters and replay buffer
(:mod:`workbench.train.sb3_state`), every RNG, and the envs as (episode seed, actions so far) per
row, which :meth:`SamplerVecEnv.restore` replays. A run killed at any point and resumed ends with
the weights of the uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import TrainConfig, TrainerConfig
from workbench.errors import UserError
from workbench.logger import Logger
from workbench.sampler.stream import warn_if_replay_differs
from workbench.train.base import Evaluator, Trainer
from workbench.train.sb3_env import SamplerVecEnv
from workbench.train.sb3_state import algorithm_state, load_algorithm_state, load_replay_state, replay_state


class OnlineTrainer(Trainer):
    def __init__(
        self,
        agent: Any,
        algo: Any,
        venv: SamplerVecEnv,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        total_steps: int,
        evaluator: Evaluator | None = None,
    ) -> None:
        from stable_baselines3.common.logger import Logger as SB3Logger
        from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

        super().__init__(agent, config, run_dir, logger, total_steps, evaluator=evaluator)
        self.algo, self.venv = algo, venv
        self.off_policy = isinstance(algo, OffPolicyAlgorithm)
        # SB3 records its losses into this logger; the trainer reads and clears them every step.
        algo.set_logger(SB3Logger(folder=None, output_formats=[]))
        self.callback: Any = None

    # ------------------------------------------------------------------------------ start / resume
    def start(self) -> None:
        """A fresh run: SB3's own setup, which resets the envs to their first episode seeds."""
        _, self.callback = self.algo._setup_learn(self.total_steps, None, reset_num_timesteps=True)

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)  # policy weights, best success, step, torch/numpy/python RNGs
        saved_obs = load_algorithm_state(self.algo, payload["sb3"])
        if self.off_policy:
            load_replay_state(self.algo.replay_buffer, payload["replay"])
        obs = self.venv.restore(payload["envs"])
        warn_if_replay_differs(obs, saved_obs)
        self.algo._last_obs = obs
        self.algo._last_original_obs = obs
        # SB3's setup without a reset (the observation is set); it would count total steps from here.
        _, self.callback = self.algo._setup_learn(self.total_steps, None, reset_num_timesteps=False)
        self.algo._total_timesteps = self.total_steps
        self.step = int(self.algo.num_timesteps)

    def state(self) -> dict[str, Any]:
        out = {**super().state(), "sb3": algorithm_state(self.algo), "envs": self.venv.state()}
        if self.off_policy:
            out["replay"] = replay_state(self.algo.replay_buffer)
        return out

    # -------------------------------------------------------------------------------- the loop
    def train_step(self) -> dict[str, float]:
        """One iteration of SB3's ``learn`` loop (off-policy or on-policy, as SB3 writes it)."""
        self.learn(self.collect())
        return self._sb3_metrics()

    def collect(self) -> int:
        """SB3's collection of this iteration; returns the env steps per env it took."""
        algo = self.algo
        if self.off_policy:
            rollout = algo.collect_rollouts(
                self.venv, train_freq=algo.train_freq, action_noise=algo.action_noise, callback=self.callback,
                learning_starts=algo.learning_starts, replay_buffer=algo.replay_buffer, log_interval=None,
            )  # fmt: skip
            return int(rollout.episode_timesteps)
        algo.collect_rollouts(self.venv, self.callback, algo.rollout_buffer, n_rollout_steps=algo.n_steps)
        return int(algo.n_steps)

    def learn(self, collected: int) -> None:
        """SB3's update after a collection of ``collected`` steps per env."""
        algo = self.algo
        if self.off_policy:
            if algo.num_timesteps > 0 and algo.num_timesteps > algo.learning_starts:
                steps = algo.gradient_steps if algo.gradient_steps >= 0 else collected
                if steps > 0:
                    algo.train(batch_size=algo.batch_size, gradient_steps=steps)
        else:
            algo._update_current_progress_remaining(algo.num_timesteps, algo._total_timesteps)
            algo.train()

    def _sb3_metrics(self) -> dict[str, float]:
        """What SB3 recorded this iteration (losses, entropy coefficient, epsilon), then cleared."""
        log = self.algo.logger
        out = {}
        for key, value in log.name_to_value.items():
            group, _, name = key.partition("/")
            if group in ("train", "rollout") and isinstance(value, (int, float, np.floating, np.integer)):
                out[name] = float(value)
        log.name_to_value.clear()
        log.name_to_count.clear()
        log.name_to_excluded.clear()
        return out

    def advance(self) -> int:
        return int(self.algo.num_timesteps)

    def set_mode(self, training: bool) -> None:
        pass  # SB3 switches its policy's mode itself (collect: eval mode, train: train mode)

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        return {k: means[k] for k in ("ep_return", "ep_success") if k in means}

    def log_extras(self) -> dict[str, float]:
        """Episodes finished in this logging window: return, length and success."""
        return self.venv.stream.window_stats()


def env_specs(factory: Any) -> tuple[dict[str, Any], dict[str, Any], int | None]:
    """The env's observation and action specs (JSON, as policy files hold them) and its time limit."""
    from workbench.data.episode import observation_spec, spec_from_space

    probe = factory()
    try:
        horizon = probe.spec.max_episode_steps if probe.spec is not None else None
        return observation_spec(probe.observation_space), spec_from_space(probe.action_space), horizon
    finally:
        probe.close()


def check_her_warmup(cfg: TrainConfig, horizon: int | None) -> None:
    """HER relabels with goals of finished episodes: updates cannot start before the first ones end."""
    agent = cfg.agent
    if not getattr(agent, "her", False) or horizon is None:
        return
    first = horizon * agent.num_envs  # env steps (all envs) until every env has finished one episode
    if agent.learning_starts < first:
        raise UserError(
            f"agent.learning_starts={agent.learning_starts} comes before the first episodes end ({horizon} "
            f"steps x {agent.num_envs} envs); HER samples finished episodes only: set "
            f"agent.learning_starts>={first}"
        )


def train_online(cfg: TrainConfig, run_dir: Path, device: Any, resuming: bool) -> dict[str, Any]:
    """Train an SB3 agent on ``cfg.env``: envs, agent, algorithm, trainer; then the final evaluation."""
    from agents.registry import agent_class
    from agents.rl.algorithms import build_algorithm, check_compatible
    from agents.rl.spaces import action_space_from_spec, image_keys, observation_space_from_spec
    from workbench.sampler import Sampler, env_factory
    from workbench.train.run import checkpoint_to_resume, fit_online

    resume = checkpoint_to_resume(run_dir, resuming)
    factory = env_factory(cfg.env)
    obs_spec, action_spec, horizon = env_specs(factory)
    try:
        check_compatible(cfg.agent, obs_spec, action_spec, cfg.env.id)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    check_her_warmup(cfg, horizon)
    agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec)
    sampler = Sampler(factory, cfg.agent.num_envs, cfg.backend.name, max_restarts=cfg.backend.max_restarts)
    first_seed, last = cfg.seeds.train_start("rollouts", cfg.seed), cfg.seeds.rollouts.stop
    spaces = observation_space_from_spec(obs_spec), action_space_from_spec(action_spec)
    venv = SamplerVecEnv(sampler, *spaces, image_keys(obs_spec), first_seed, last)
    method = cfg.adversarial.method
    adversarial = adversarial_setup(cfg, run_dir) if method in ("gail", "airl") else None
    if method == "learned":  # reward transfer: a fixed recovered reward g(s') instead of the env's
        from workbench.train.adversarial import load_recovered_reward

        assert cfg.adversarial.reward_from is not None
        recovered, offset, scale = load_recovered_reward(cfg.adversarial.reward_from)
        venv.reward_key = cfg.adversarial.obs_key
        if cfg.adversarial.transfer == "shaped":  # a shift would change nothing: scaled only
            venv.reward_fn = lambda batch: recovered.shaped(batch) / scale
        else:
            venv.reward_fn = lambda batch: (recovered.recovered(batch["s_next"]) - offset) / scale
    made: list[OnlineTrainer] = []  # the trainer, for what AIRL saves after training

    def make_trainer(logger: Logger, evaluator: Evaluator) -> OnlineTrainer:
        algo = build_algorithm(cfg.agent, venv, seed=cfg.seed, device=device)
        agent.adopt(algo.policy)
        args = (agent, algo, venv, cfg.trainer, run_dir, logger, cfg.agent.steps, evaluator)
        if adversarial is not None:
            from workbench.train.adversarial import AdversarialTrainer

            discriminator, expert = adversarial
            made.append(AdversarialTrainer(
                *args, discriminator=discriminator, expert=expert, config=cfg.adversarial, seed=cfg.seed
            ))  # fmt: skip
            return made[-1]
        return OnlineTrainer(*args)

    results = fit_online(cfg, run_dir, agent, resuming, resume, make_trainer, venv.close)
    if method == "airl" and adversarial is not None:
        from agents.imitation.discriminator import AIRLDiscriminator
        from workbench.train.adversarial import AdversarialTrainer, save_recovered_reward

        discriminator, expert = adversarial
        assert isinstance(discriminator, AIRLDiscriminator)
        trainer = made[-1] if made else None
        first = trainer.reference_states if isinstance(trainer, AdversarialTrainer) else None
        reference = expert["s_next"] if first is None else np.concatenate([expert["s_next"], first])
        save_recovered_reward(discriminator, cfg.adversarial, run_dir / "reward.pt", reference)
    return results


def adversarial_setup(cfg: TrainConfig, run_dir: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """The expert transitions (the run's demos, collected on the first start) and the discriminator,
    normalised by the expert data's statistics."""
    import torch

    from workbench.train.adversarial import build_discriminator, expert_transitions
    from workbench.train.demos import ensure_demos

    demos = run_dir / "demos"
    ensure_demos(cfg, demos)
    expert = expert_transitions(demos, cfg.adversarial.obs_key)
    torch.manual_seed(cfg.seed)
    return build_discriminator(cfg.adversarial, expert), expert
