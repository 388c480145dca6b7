"""Progress bars for long work (rich): steps/s, loss, success — quiet when not on a terminal."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class ProgressBar:
    """``with ProgressBar("train", total) as bar: bar.update(n, loss=...)``."""

    def __init__(self, description: str, total: int, completed: int = 0, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.description = description
        self.total = total
        self.completed = completed
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=self.total, completed=self.completed, rate="", info=""
            )
        return self

    def update(self, completed: int, **fields: float) -> None:
        self.completed = completed
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        speed = task.speed or 0.0
        info = "  ".join(f"{k} {v:.4g}" for k, v in fields.items())
        self._progress.update(self._task, completed=completed, rate=f"{speed:7.1f}/s", info=info)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
