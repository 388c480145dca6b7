"""Adversarial imitation (GAIL, AIRL) and reward transfer in the online trainer: SB3's algorithm
learns from a learned reward instead of the env's.

Each iteration: SB3 collects as usual, except that :class:`~workbench.train.sb3_env.SamplerVecEnv`
answers every step with the discriminator's reward (``reward_fn``) and keeps the transitions; then
``adversarial.updates`` discriminator steps on those transitions (with ``adversarial.replay``, beside
a uniform sample of all earlier ones) against as many expert ones (drawn from the run's demos by the
trainer's own generator); then SB3's update. The discriminator, its optimizer, its generator and the
replayed transitions are part of the checkpoint, so a resumed run continues exactly. AIRL's
recovered reward g(s) is written to ``RUN/reward.pt``; ``adversarial.method=learned`` trains a fresh
policy on it (reward transfer). The env's return and success are still logged (they never train),
and every policy is scored by the env's success.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.imitation.adversarial_config import AdversarialConfig
from agents.imitation.discriminator import AdversarialDiscriminator, AIRLDiscriminator, Discriminator
from foundation.files import save_torch, verify_checksum
from workbench.errors import UserError
from workbench.train.online import OnlineTrainer

REWARD_FORMAT = "workbench-recovered-reward"


def expert_transitions(demos: Path, key: str) -> dict[str, np.ndarray]:
    """Every transition of a demos dataset: s, a, s_next, done (the episode terminated there)."""
    from workbench.data import iter_episodes

    parts: dict[str, list[np.ndarray]] = {"s": [], "a": [], "s_next": [], "done": []}
    for episode in iter_episodes(demos, obs_keys=[key]):
        if key not in episode.obs:
            raise UserError(f"{demos} records no {key!r} observation for the discriminator")
        states = episode.obs[key].reshape(len(episode.actions) + 1, -1)
        done = np.zeros(len(episode.actions), np.float32)
        done[-1] = float(episode.terminated)
        parts["s"].append(states[:-1])
        parts["s_next"].append(states[1:])
        parts["a"].append(episode.actions)
        parts["done"].append(done)
    return {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}


def build_discriminator(cfg: AdversarialConfig, expert: dict[str, np.ndarray]) -> AdversarialDiscriminator:
    state_dim, action_dim = expert["s"].shape[1], expert["a"].shape[1]
    disc: AdversarialDiscriminator
    if cfg.method == "airl":
        disc = AIRLDiscriminator(state_dim, cfg.hidden_dims, cfg.gamma)
        disc.set_stats(expert["s"])
    else:
        disc = Discriminator(state_dim, action_dim, cfg.hidden_dims)
        disc.set_stats(expert["s"], expert["a"])
    return disc


def save_recovered_reward(
    disc: AIRLDiscriminator, cfg: AdversarialConfig, path: Path, reference: np.ndarray
) -> None:
    """``reward.pt``: g and its standardisation over ``reference`` (N, S) states, the expert's and the
    first policy's. A recovered reward's scale is arbitrary (g in -19 .. -2 on Reach, a 50-step return
    near -500): a fresh PPO's value function could not fit it and learned nothing (0% on Reach), so
    transfer learns from (g - mean) / std, an affine change that leaves fixed-length episodes' best
    policy as it is."""
    g = disc.recovered(reference)
    save_torch({"format": REWARD_FORMAT, "state_dim": disc.state_dim, "hidden_dims": list(cfg.hidden_dims),
                "gamma": disc.gamma, "state_dict": disc.state_dict(),
                "offset": float(g.mean()), "scale": float(max(g.std(), 1e-6))}, path)  # fmt: skip


def load_recovered_reward(source: str) -> tuple[AIRLDiscriminator, float, float]:
    """An AIRL run's recovered reward (``RUN`` or ``RUN/reward.pt``), refused in one line if absent:
    g and its standardisation (offset, scale; 0 and 1 in files written before it)."""
    path = Path(source)
    path = path / "reward.pt" if path.is_dir() else path
    if not path.is_file():
        raise UserError(f"adversarial.reward_from={source}: no reward.pt (train one with agent=airl)")
    verify_checksum(path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != REWARD_FORMAT:
        raise UserError(f"{path} is not a workbench recovered-reward file")
    disc = AIRLDiscriminator(payload["state_dim"], payload["hidden_dims"], payload["gamma"])
    disc.load_state_dict(payload["state_dict"])
    return disc.eval(), float(payload.get("offset", 0.0)), float(payload.get("scale", 1.0))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (N,) arrays; 0 where either is constant."""
    x, y = x.astype(np.float64) - x.mean(), y.astype(np.float64) - y.mean()
    scale = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / scale) if scale > 0 else 0.0


class AdversarialTrainer(OnlineTrainer):
    """The online trainer with a discriminator trained between SB3's collection and update."""

    def __init__(
        self, *args: Any, discriminator: AdversarialDiscriminator, expert: dict[str, np.ndarray],
        config: AdversarialConfig, seed: int, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.discriminator, self.adv = discriminator, config
        self.expert = {k: torch.as_tensor(v) for k, v in expert.items()}
        self.disc_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.lr)
        self.disc_generator = torch.Generator().manual_seed(seed)
        self.airl = isinstance(discriminator, AIRLDiscriminator)
        self.venv.reward_key = config.obs_key
        self.venv.reward_fn = self.reward
        self.venv.transitions = []  # this iteration's steps, for the discriminator
        # The first iteration's reached states (the untrained policy's): with the expert's, what the
        # recovered reward is standardised over (see save_recovered_reward).
        self.reference_states: np.ndarray | None = None
        # A uniform sample of every policy transition so far (``adversarial.replay`` of them), what D
        # trains against beside the latest iteration's; ``seen`` counts the transitions offered.
        self.replay: dict[str, torch.Tensor] = {}
        self.seen = 0

    def log_prob(self, states: np.ndarray | torch.Tensor, actions: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N,) log pi(a|s) under the current policy (AIRL's D needs it)."""
        policy = self.algo.policy
        with torch.no_grad():
            states = np.asarray(states)  # a lone state observation is SB3's Box; else a Dict of it
            obs, _ = policy.obs_to_tensor(states if self.venv.flat else {self.adv.obs_key: states})
            dist = policy.get_distribution(obs)
            logp = dist.log_prob(torch.as_tensor(np.asarray(actions)).to(policy.device))
        return np.asarray(logp.cpu().numpy(), dtype=np.float32)

    def reward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        if self.airl:
            batch = {**batch, "logp": self.log_prob(batch["s"], batch["a"])}
        return self.discriminator.reward(batch)

    def train_step(self) -> dict[str, float]:
        self.transitions.clear()
        collected = self.collect()
        metrics = self.update_discriminator()
        self.learn(collected)
        return {**self._sb3_metrics(), **metrics}

    @property
    def transitions(self) -> list[dict[str, np.ndarray]]:
        assert self.venv.transitions is not None
        return self.venv.transitions

    def update_discriminator(self) -> dict[str, float]:
        """``adversarial.updates`` steps on this iteration's transitions (with ``adversarial.replay``,
        and the reservoir of all earlier ones) against expert ones."""
        if not self.transitions:
            return {}
        policy = {k: torch.as_tensor(np.concatenate([t[k] for t in self.transitions]))
                  for k in ("s", "a", "s_next", "done")}  # fmt: skip
        replayed = policy
        if self.adv.replay:
            self.add_to_replay(policy)
            replayed = {k: torch.cat([policy[k], self.replay[k]]) for k in policy}
        # The rewards the policy was given this iteration (neither D nor the policy has moved since),
        # and how well they (and AIRL's recovered g(s')) track the env's own reward, which never trains.
        given = np.concatenate([t["r"] for t in self.transitions])
        env_reward = np.concatenate([t["env_r"] for t in self.transitions])
        reward = float(given.mean())
        agreement = {"reward_corr": pearson(given, env_reward)}
        if self.airl:
            assert isinstance(self.discriminator, AIRLDiscriminator)
            if self.reference_states is None:
                self.reference_states = policy["s_next"].numpy().copy()
            recovered = self.discriminator.recovered(policy["s_next"].numpy())
            agreement["recovered_corr"] = pearson(recovered, env_reward)
        totals: dict[str, float] = {}
        for _ in range(self.adv.updates):
            n = min(self.adv.batch_size, len(replayed["s"]))
            rows_p = torch.randint(len(replayed["s"]), (n,), generator=self.disc_generator)
            rows_e = torch.randint(len(self.expert["s"]), (n,), generator=self.disc_generator)
            batch_p = {k: v[rows_p] for k, v in replayed.items()}
            batch_e = {k: v[rows_e] for k, v in self.expert.items()}
            if self.airl:  # under the current policy, for expert and policy transitions alike
                for batch in (batch_p, batch_e):
                    batch["logp"] = torch.as_tensor(self.log_prob(batch["s"], batch["a"]))
            penalty = self.adv.gradient_penalty
            loss, info = self.discriminator.loss(batch_e, batch_p, penalty, self.disc_generator)
            self.disc_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.disc_optimizer.step()
            for key, value in info.items():
                totals[key] = totals.get(key, 0.0) + value / self.adv.updates
        return {**totals, "learned_reward": reward, **agreement}

    def add_to_replay(self, policy: dict[str, torch.Tensor]) -> None:
        """Reservoir sampling (Vitter's algorithm R) of ``policy``'s transitions into ``replay``: every
        transition offered so far is kept with the same probability, so the states of early, poor
        policies stay in D's training set for the whole run."""
        capacity, count = self.adv.replay, len(policy["s"])
        if not self.replay:
            self.replay = {k: v[:0].clone() for k, v in policy.items()}
        free = max(0, min(capacity - len(self.replay["s"]), count))
        self.replay = {k: torch.cat([self.replay[k], policy[k][:free]]) for k in policy}
        rest = torch.arange(free, count)
        # transition i of the stream (0-based, seen + i) replaces a random slot with prob capacity / (i + 1)
        slots = (torch.rand(len(rest), generator=self.disc_generator) * (self.seen + rest + 1)).long()
        keep = slots < capacity
        for k in policy:
            self.replay[k][slots[keep]] = policy[k][rest[keep]]
        self.seen += count

    def state(self) -> dict[str, Any]:
        return {**super().state(), "discriminator": self.discriminator.state_dict(),
                "disc_optimizer": self.disc_optimizer.state_dict(),
                "disc_generator": self.disc_generator.get_state(),
                # a tensor: checkpoints load with weights_only=True
                "reference_states": None if self.reference_states is None
                else torch.from_numpy(self.reference_states),
                "replay": self.replay, "seen": self.seen}  # fmt: skip

    def load_state(self, payload: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(payload["discriminator"])
        self.disc_optimizer.load_state_dict(payload["disc_optimizer"])
        self.disc_generator.set_state(payload["disc_generator"])
        reference = payload.get("reference_states")
        self.reference_states = None if reference is None else reference.numpy()
        self.replay, self.seen = dict(payload.get("replay", {})), int(payload.get("seen", 0))
        super().load_state(payload)
