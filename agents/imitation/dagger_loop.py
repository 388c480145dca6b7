"""DAgger's outer loop (Ross, Gordon & Bagnell 2011, Algorithm 3.1) around any BC-family agent::

    round 0:       train on the expert demos (plain BC)
    round r >= 1:  roll out the beta_r mixture of expert and learner (MixturePolicy); the expert
                   labels every visited state -> aggregate -> retrain on every expert label so far
                   (from scratch, or warm-started with ``warm_start``)

The loop decides (rounds, the beta schedule, aggregation, the label budget, where a killed run
resumes); the application supplies a :class:`Collector` (rollouts into the aggregated dataset) and a
:class:`RoundTrainer` (fits, validates and checkpoints a policy per round). Every expert label counts
toward ``label_budget``, demos included, so DAgger can be compared with BC at equal labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from agents.base import LearnedPolicy
from agents.imitation.dagger import label_budget_left
from agents.imitation.dagger_config import DaggerConfig

RoundRecord = dict[str, Any]  # round, beta, labels, episodes, collection stats, success_rate


class Collector(Protocol):
    """The aggregated dataset and the rollouts that grow it."""

    def size(self) -> tuple[int, int]:
        """(episodes, expert labels) in the aggregated dataset."""
        ...

    def truncate(self, episodes: int) -> None:
        """Drop episodes after the first ``episodes`` (those a killed collection appended)."""
        ...

    def collect(
        self, learner: LearnedPolicy, round_index: int, beta: float, labels_left: int | None
    ) -> dict[str, float]:
        """Roll out the beta-mixture, append expert-labelled episodes (at most ``labels_left`` labels)."""
        ...


class RoundTrainer(Protocol):
    """Fits one policy per round and remembers finished rounds (checkpoints)."""

    def completed(self) -> tuple[dict[str, Any], LearnedPolicy | None]:
        """The last completed round's record with ``history`` ({"round": -1} if none) and its policy."""
        ...

    def in_progress(self, round_index: int) -> RoundRecord | None:
        """The record a killed run saved inside round ``round_index`` (None: the round starts fresh)."""
        ...

    def train_round(
        self, round_index: int, steps: int, warm_start: LearnedPolicy | None, record: RoundRecord
    ) -> LearnedPolicy: ...

    def validate(self, policy: LearnedPolicy, round_index: int) -> float:
        """Success rate on validation seeds."""
        ...

    def finish_round(self, round_index: int, policy: LearnedPolicy, done: dict[str, Any]) -> None: ...


def round_steps(config: DaggerConfig, agent_steps: int, r: int) -> int:
    """Training steps of round ``r`` (round 0 trains ``agent.steps`` on the demos)."""
    return agent_steps if r == 0 or config.steps_per_round is None else config.steps_per_round


def step_offset(config: DaggerConfig, agent_steps: int, r: int) -> int:
    """Global training step at which round ``r`` starts."""
    return sum(round_steps(config, agent_steps, i) for i in range(r))


def run_dagger(
    config: DaggerConfig,
    agent_steps: int,
    collector: Collector,
    trainer: RoundTrainer,
    log: Callable[[str], None] = print,
) -> tuple[LearnedPolicy, dict[str, Any]]:
    """Run (or resume) rounds 0..``config.rounds``; returns the final policy and the last record."""
    done, policy = trainer.completed()
    if done["round"] < 0:
        demo_episodes, demo_labels = collector.size()
    else:
        demo_episodes, demo_labels = int(done["demo_episodes"]), int(done["demo_labels"])
    if config.label_budget and config.label_budget < demo_labels:
        raise ValueError(
            f"dagger.label_budget={config.label_budget} is below the {demo_labels} expert labels of the "
            f"{demo_episodes} initial demos; use fewer demos (demos.episodes=) or a larger budget"
        )
    history: list[RoundRecord] = list(done.get("history", []))
    for r in range(int(done["round"]) + 1, config.rounds + 1):
        if r > 0 and config.label_budget and int(done["labels"]) >= config.label_budget:
            log(f"dagger: label budget {config.label_budget} reached after round {r - 1}")
            break
        record: RoundRecord = {"round": r, "beta": 1.0 if r == 0 else config.beta(r)}
        killed = trainer.in_progress(r)
        if killed is not None:
            collector.truncate(int(killed["episodes"]))  # the round's data as its checkpoint saw it
        elif r > 0:
            assert policy is not None
            collector.truncate(int(done["episodes"]))
            left = label_budget_left(config.label_budget, int(done["labels"]))
            record.update(collector.collect(policy, r, record["beta"], left))
        episodes, labels = collector.size()
        record.update(
            labels=labels, episodes=episodes, demo_episodes=demo_episodes, demo_labels=demo_labels
        )
        if killed is not None:
            record = {**killed, **record}
        log(
            f"dagger round {r}/{config.rounds}: beta {record['beta']:.3f}, {episodes} episodes, "
            f"{labels} expert labels"
        )
        steps = round_steps(config, agent_steps, r)
        policy = trainer.train_round(r, steps, policy if config.warm_start else None, record)
        if config.eval_every_round:
            record["success_rate"] = trainer.validate(policy, r)
        history.append(dict(record))
        done = {**record, "history": history}
        trainer.finish_round(r, policy, done)
    assert policy is not None
    return policy, done
