"""Evaluation inside a training run: periodic validation (validation seeds, no video) and the final
evaluation on the test seeds, shared by every trainer family."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.base import Policy
from workbench.config import TrainConfig
from workbench.train.base import Evaluator


def validation_evaluator(policy: Policy, cfg: TrainConfig, out_root: Path) -> Evaluator:
    """Scores ``policy`` on the validation seeds into ``out_root/step_<N>/results.json``."""
    from workbench.evaluate import evaluate

    settings = cfg.eval.for_validation(cfg.seeds)

    def evaluator(step: int) -> dict[str, float]:
        res = evaluate(
            policy, cfg.env, settings, out_root / f"step_{step:08d}", progress=False, backend=cfg.backend
        )
        return {k: res[k] for k in ("success_rate", "mean_return", "mean_length")}

    return evaluator


def final_eval(policy: Policy, cfg: TrainConfig, run_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """The run's own final evaluation: ``RUN/eval/results.json``, videos and ``RUN/episodes``."""
    from workbench.evaluate import evaluate
    from workbench.provenance import config_hash

    return evaluate(
        policy,
        cfg.env,
        cfg.eval,
        run_dir / "eval",
        episodes_dir=run_dir / "episodes",
        progress=cfg.trainer.progress,
        extra={"config_hash": config_hash((run_dir / "config.yaml").read_text()), **extra},
        backend=cfg.backend,
    )


def finish_run(agent: Any, cfg: TrainConfig, run_dir: Path, logger: Any, step: int) -> dict[str, Any]:
    """After training: the final policy chosen (``trainer.final_policy``), saved as policy.pt, scored on
    the test seeds and logged. Every trainer family ends its run here."""
    chosen = select_final_policy(agent, cfg, run_dir)
    agent.save(run_dir / "policy.pt")
    final = {"policy": str(run_dir / "policy.pt"), "step": step, "final_policy": chosen}
    results = final_eval(agent, cfg, run_dir, final)
    logger.log(step, results, prefix="eval/")
    return results


def select_final_policy(agent: Any, cfg: TrainConfig, run_dir: Path) -> str:
    """Load the weights ``trainer.final_policy`` names into ``agent`` before it is saved as policy.pt and
    scored on the test seeds: ``best`` is the periodic evaluation's best on the validation seeds (so the
    test seeds never take part in the choice). Returns which was used."""
    best = run_dir / "policy_best.pt"
    if cfg.trainer.final_policy != "best" or not best.is_file():
        return "last"
    from agents.policy_io import read_policy

    agent.load_state_dict(read_policy(best)["state_dict"])
    return "best"
