"""One logger with namespaced keys (``train/loss``, ``eval/success_rate``) and pluggable sinks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Protocol

from workbench.io import atomic_write_text


class Sink(Protocol):
    def write(self, step: int, metrics: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """Appends one JSON object per call to ``metrics.jsonl`` (flushed, so a killed run keeps it).

    On resume, lines logged after the checkpoint being resumed from are dropped first, so the file
    reads as if the run had never been interrupted.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        if resume_step is not None and path.exists():
            kept = []
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line).get("step", 0) <= resume_step:
                        kept.append(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by the kill
            # Atomically: a kill during the rewrite must not cost the metrics logged so far.
            atomic_write_text(path, "".join(f"{ln}\n" for ln in kept))
        self._file = path.open("a")

    def write(self, step: int, metrics: dict[str, float]) -> None:
        clean = {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": step, **clean}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardSink:
    def __init__(self, log_dir: Path, purge_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step drops events logged after the resumed checkpoint, as JsonlSink does.
        self._writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def write(self, step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class Logger:
    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def log(self, step: int, metrics: dict[str, Any], prefix: str = "") -> None:
        flat = {f"{prefix}{k}": float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        for sink in self.sinks:
            sink.write(step, flat)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def run_logger(run_dir: Path, resume_step: int | None = None) -> Logger:
    return Logger(
        [
            JsonlSink(run_dir / "metrics.jsonl", resume_step),
            TensorBoardSink(run_dir / "tb", None if resume_step is None else resume_step + 1),
        ]
    )
