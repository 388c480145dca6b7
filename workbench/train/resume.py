"""``workbench train resume=RUN [key=value ...]``: what may change when a run continues.

A resumed run reads its recorded ``config.yaml``. Overrides given with ``resume=`` are either safe to
change mid-run, and then applied and recorded (config.yaml is rewritten, ``resumes.jsonl`` gets a
line), or they would make the run something else (another env, agent, learning rate, seed), and then
the command is refused, naming them. Nothing is ever silently ignored.

Safe: ``agent.steps`` (train longer; the learning-rate schedule stretches to the new total), the
trainer's cadence (``trainer.*``), ``threads``, ``device``. A finished run (it has
``eval/results.json``) continues only with a larger ``agent.steps``; its earlier final policy and
evaluation move to ``history/step_<N>/`` first, so nothing is overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig, load_train_config, to_yaml
from workbench.errors import UserError
from workbench.io import atomic_write_text

SAFE_ON_RESUME = (
    "agent.steps",
    "trainer.log_every",
    "trainer.checkpoint_every",
    "trainer.eval_every",
    "trainer.keep_checkpoints",
    "trainer.progress",
    "trainer.world_size",
    "threads",
    "device",
    "debug",
)
# What a run's final outputs are; a finished run trained longer keeps the earlier ones in history/.
FINAL_OUTPUTS = ("policy.pt", "policy.pt.sha256", "eval/results.json", "eval/videos", "episodes")


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass (or dict) as ``{"agent.steps": 600, ...}``; lists stay values."""
    data = dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) and not isinstance(obj, type) else obj
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def requested_changes(cfg: TrainConfig) -> dict[str, Any]:
    """The keys the command line set besides ``resume``: ``cfg`` against the defaults."""
    from workbench.config import compose

    given, default = flatten(cfg), flatten(compose("train", []))
    return {k: v for k, v in given.items() if k != "resume" and default.get(k, object()) != v}


@dataclass
class ResumePlan:
    """A run to continue: its config with the accepted changes, and what must happen on opening it."""

    cfg: TrainConfig
    run_dir: Path
    changes: dict[str, Any] = field(default_factory=dict)
    archive_step: int | None = None  # a finished run trained longer: its final outputs move aside

    def commit(self) -> None:
        """Record the changes and move a finished run's outputs aside (under the run's lock)."""
        if self.archive_step is not None:
            history = self.run_dir / "history" / f"step_{self.archive_step:08d}"
            for name in FINAL_OUTPUTS:
                src = self.run_dir / name
                if src.exists():
                    (history / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(src, history / name)
        if self.changes:
            atomic_write_text(self.run_dir / "config.yaml", to_yaml(self.cfg))
            line = {"time": datetime.now().isoformat(timespec="seconds"), "changes": self.changes}
            if self.archive_step is not None:
                line["archived"] = f"history/step_{self.archive_step:08d}"
            with open(self.run_dir / "resumes.jsonl", "a") as f:
                f.write(json.dumps(line, default=str) + "\n")


def open_resumed(cfg: TrainConfig) -> ResumePlan:
    assert cfg.resume is not None
    run_dir = Path(cfg.resume)
    if not run_dir.is_dir():
        raise UserError(f"resume={run_dir}: no such run directory")
    recorded = load_train_config(run_dir / "config.yaml")
    before = flatten(recorded)
    # Only what differs from the run's own config is a change (repeating a recorded value is fine).
    changes = {k: v for k, v in requested_changes(cfg).items() if before.get(k, object()) != v}
    safe = [k for k in SAFE_ON_RESUME if not (k == "agent.steps" and recorded.dagger.rounds > 0)]
    refused = sorted(k for k in changes if k not in safe)
    if refused:
        raise UserError(
            f"resume={run_dir} cannot change {', '.join(refused)} (the run was trained with its recorded "
            f"config.yaml); drop them, or start a new run. On resume you may change: {', '.join(safe[:-1])}"
        )
    updated = apply_changes(recorded, changes)
    plan = ResumePlan(updated, run_dir, {k: v for k, v in changes.items() if k != "debug"})
    finished = (run_dir / "eval" / "results.json").is_file()
    old_steps, new_steps = recorded.agent.steps, updated.agent.steps
    if finished and new_steps <= old_steps:
        raise UserError(
            f"run {run_dir} already finished ({old_steps} steps, eval/results.json): pass agent.steps=N "
            f"above {old_steps} to train it longer, or score it again with `workbench eval run={run_dir}`"
        )
    # DAgger's checkpoints count steps over all rounds; its agent.steps is per round (and fixed).
    done = last_step(run_dir) if recorded.dagger.rounds == 0 else 0
    if new_steps < done:
        raise UserError(f"agent.steps={new_steps} is below the step its checkpoint reached ({done})")
    if finished:
        plan.archive_step = old_steps
    return plan


def apply_changes(cfg: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    out = dataclasses.replace(
        cfg, agent=dataclasses.replace(cfg.agent), trainer=dataclasses.replace(cfg.trainer)
    )
    for key, value in changes.items():
        owner, _, name = key.rpartition(".")
        setattr(getattr(out, owner) if owner else out, name, value)
    return out


def last_step(run_dir: Path) -> int:
    """The step of the newest checkpoint file (0 when there is none)."""
    from workbench.checkpoint import step_files

    files = step_files(run_dir / "checkpoints")
    return int(files[-1].stem.split("_")[1]) if files else 0
