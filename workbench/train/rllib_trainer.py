"""RLlib agents in the shared training loop: RLlib samples and learns, the workbench keeps the run.

One ``train_step`` is one ``Algorithm.train()`` iteration (RLlib's EnvRunner actors collect, its
Learner updates); the trainer's step is RLlib's lifetime env-step count. The run directory is the
same as every family's: ``metrics.jsonl`` and TensorBoard (episode return, losses, env steps/s),
validation on the validation seeds through the workbench's sampler, ``policy.pt`` (the inference
RLModule's weights, loadable without Ray), the final evaluation, videos and replay.

Checkpoints: the workbench checkpoint holds the policy weights, counters and RNGs, and names RLlib's
own checkpoint of the algorithm (learner, optimizer, replay buffer, env-runner state) written beside
it under ``rllib/step_<N>`` with ``Algorithm.save_to_path``. RLlib writes its state with pickle; the
workbench restores only the RLlib checkpoint its own run wrote (never a file from elsewhere), and the
resume is RLlib's (not exact: its env runners restart their episodes).

The envs: RLlib builds them in its actors through ``register_env`` from the same ``EnvFactory`` the
sampler uses, Dict observations flattened; episode seeds start in the seed plan's rollouts range.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, TrainerConfig
from workbench.errors import UserError
from workbench.logger import Logger
from workbench.train.base import Evaluator, Trainer

ENV_NAME = "workbench_env"


class FlatEnv:
    """A picklable env creator for RLlib's actors: the workbench env, Dict observations flattened."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def __call__(self, env_config: Any = None) -> Any:
        import gymnasium as gym

        env = self.factory()
        if isinstance(env.observation_space, gym.spaces.Dict):
            return gym.wrappers.FlattenObservation(env)
        return env


class RLlibTrainer(Trainer):
    def __init__(
        self,
        agent: Any,
        algo: Any,
        config: TrainerConfig,
        run_dir: Path,
        logger: Logger,
        total_steps: int,
        evaluator: Evaluator | None = None,
    ) -> None:
        super().__init__(agent, config, run_dir, logger, total_steps, evaluator=evaluator)
        self.rllib_agent = agent  # an RLlibAgent (load_weights), beyond the LearnedPolicy protocol
        self.algo = algo
        self._env_steps = 0

    def train_step(self) -> dict[str, float]:
        result = self.algo.train()
        self._env_steps = int(result.get("num_env_steps_sampled_lifetime", self._env_steps))
        self.sync_policy()
        runners = result.get("env_runners", {})
        out = {
            "ep_return": runners.get("episode_return_mean"),
            "ep_length": runners.get("episode_len_mean"),
        }
        for name, value in (result.get("learners", {}).get("default_policy", {}) or {}).items():
            if name.endswith("loss") or name in ("entropy", "mean_kl_loss", "alpha_value"):
                out[name] = value
        return {k: float(v) for k, v in out.items() if isinstance(v, (int, float)) and v == v}

    def sync_policy(self) -> None:
        """The learner's current weights into the acting agent (validation, policy.pt)."""
        from ray.rllib.core import DEFAULT_MODULE_ID

        weights = self.algo.learner_group.get_weights()[DEFAULT_MODULE_ID]
        self.rllib_agent.load_weights(weights)

    def advance(self) -> int:
        return self._env_steps

    def set_mode(self, training: bool) -> None:
        pass

    def progress_fields(self, means: dict[str, float]) -> dict[str, float]:
        return {k: means[k] for k in ("ep_return",) if k in means}

    def state(self) -> dict[str, Any]:
        rllib_dir = self.run_dir / "rllib"
        target = rllib_dir / f"step_{self.step:08d}"
        self.algo.save_to_path(str(target.resolve()))
        for old in rllib_dir.glob("step_*"):  # RLlib's checkpoint is large: keep the one named here
            if old != target and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        return {**super().state(), "rllib_checkpoint": target.name, "env_steps": self._env_steps}

    def load_state(self, payload: dict[str, Any]) -> None:
        super().load_state(payload)
        path = self.run_dir / "rllib" / str(payload["rllib_checkpoint"])
        if not path.is_dir():
            raise UserError(f"RLlib's checkpoint {path} is missing; the run cannot resume without it")
        self.algo.restore_from_path(str(path.resolve()))
        self._env_steps = int(payload["env_steps"])
        self.step = self._env_steps


def train_rllib(cfg: TrainConfig, run_dir: Path, device: Any, resuming: bool) -> dict[str, Any]:
    """Train an RLlib agent: Ray, the registered env, RLlib's algorithm, the shared loop, evaluation."""
    from ray.tune.registry import register_env

    from agents.registry import agent_class
    from workbench.sampler import env_factory
    from workbench.sampler.ray_backend import start_ray
    from workbench.train.online import env_specs
    from workbench.train.run import checkpoint_to_resume, fit_online

    del device  # RLlib places its Learner itself (a GPU when one is configured and visible)
    resume = checkpoint_to_resume(run_dir, resuming)
    factory = env_factory(cfg.env)
    obs_spec, action_spec, _ = env_specs(factory)
    agent = agent_class(cfg.agent.name)(cfg.agent, obs_spec, action_spec)
    start_ray(cfg.backend.address)
    register_env(ENV_NAME, FlatEnv(factory))
    algo_config = (
        cfg.agent.algorithm_config()
        .environment(ENV_NAME)
        .env_runners(
            num_env_runners=cfg.agent.num_env_runners, num_envs_per_env_runner=cfg.agent.envs_per_runner
        )
        .rl_module(model_config=cfg.agent.model_config())
        # Episode seeds in the rollouts range of the seed plan (RLlib offsets them per runner and env).
        .debugging(seed=cfg.seeds.train_start("rollouts", cfg.seed))
        .reporting(metrics_num_episodes_for_smoothing=20)
    )
    algo = algo_config.build_algo()

    def make_trainer(logger: Logger, evaluator: Evaluator) -> RLlibTrainer:
        return RLlibTrainer(agent, algo, cfg.trainer, run_dir, logger, cfg.agent.steps, evaluator)

    return fit_online(cfg, run_dir, agent, resuming, resume, make_trainer, algo.stop)
