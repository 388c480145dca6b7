"""Progress of long work: a rich bar on a terminal, plain lines in logs.

On a terminal (stderr is a TTY) a rich bar shows steps/s, loss and success. Elsewhere (a batch job,
``nohup``, CI, a pipe) a bar would fill the log with control codes, but silence is worse: nobody can
tell a slow run from a stuck one. So then a plain line goes to stderr at most every ``interval``
seconds, plus one at the end::

    train 4200/20000 (21%) 395.2/s loss 0.0123
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

PLAIN_INTERVAL_S = 10.0


def _fields_text(fields: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in fields.items())


class PlainProgress:
    """Rate-limited one-line progress reports for a stream that is not a terminal."""

    def __init__(
        self,
        description: str,
        total: int,
        completed: int = 0,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description = description
        self.total = total
        self.completed = completed
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.clock = clock
        self.fields: dict[str, float] = {}
        # The rate counts only work done here: a resumed run starts from `completed`, not 0.
        self._start_completed = completed
        self._start = clock()
        self._last_print: float | None = None
        self._last_line_completed: int | None = None

    def line(self) -> str:
        elapsed = self.clock() - self._start
        done = self.completed - self._start_completed
        rate = done / elapsed if elapsed > 0 else 0.0
        percent = f" ({self.completed / self.total:.0%})" if self.total > 0 else ""
        text = f"{self.description} {self.completed}/{self.total}{percent} {rate:.1f}/s"
        extra = _fields_text(self.fields)
        return f"{text} {extra}" if extra else text

    def _emit(self) -> None:
        print(self.line(), file=self.stream, flush=True)
        self._last_print = self.clock()
        self._last_line_completed = self.completed

    def update(self, completed: int, **fields: float) -> None:
        self.completed = completed
        self.fields.update(fields)
        now = self.clock()
        # The first report waits a full interval too: short work then prints only its final line.
        since = now - (self._last_print if self._last_print is not None else self._start)
        if since >= self.interval:
            self._emit()

    def close(self) -> None:
        """The final line (always, unless this exact state was just printed)."""
        if self._last_line_completed != self.completed or self._last_print is None:
            self._emit()


class ProgressBar:
    """``with ProgressBar("train", total) as bar: bar.update(n, loss=...)``.

    ``enabled=False`` prints nothing at all (e.g. ``trainer.progress=false`` in benchmarks).
    """

    def __init__(
        self,
        description: str,
        total: int,
        completed: int = 0,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL_S,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.description = description
        self.total = total
        self.completed = completed
        self.interval = interval
        self._progress: Any = None
        self._task: Any = None
        self._plain: PlainProgress | None = None

    def __enter__(self) -> ProgressBar:
        if self.tty:
            self._start_rich()
        elif self.enabled:
            self._plain = PlainProgress(
                self.description, self.total, self.completed, self.stream, self.interval
            )
        return self

    def _start_rich(self) -> None:
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
            console=Console(file=self.stream),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            self.description, total=self.total, completed=self.completed, rate="", info=""
        )

    def update(self, completed: int, **fields: float) -> None:
        self.completed = completed
        if self._plain is not None:
            self._plain.update(completed, **fields)
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        speed = task.speed or 0.0
        self._progress.update(
            self._task, completed=completed, rate=f"{speed:7.1f}/s", info=_fields_text(fields)
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._plain is not None:
            self._plain.close()
