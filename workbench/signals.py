"""SIGTERM handled like SIGINT, and a stop that waits for the end of a training step.

A batch scheduler or ``kill`` sends SIGTERM; Python's default is to die on the spot, with no final
checkpoint and no message. The CLI turns SIGTERM into :class:`Terminated` (exit 143, as a shell
reports a process killed by SIGTERM), and SIGINT stays ``KeyboardInterrupt`` (exit 130).

Inside a training loop an interrupt in the middle of an optimiser step would leave weights and
optimiser state out of step with each other, so :func:`deferred_stop` records the signal instead,
and the loop stops at the next step boundary, writes a checkpoint there, and raises. A second signal
while waiting stops at once (a user who presses Ctrl-C twice means it).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt (a BaseException, so ``except Exception`` lets it pass)."""

    exit_code = 143


class Interrupted(KeyboardInterrupt):
    """SIGINT with a message saying what was kept (e.g. the checkpoint to resume from)."""

    exit_code = 130


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside: SIGTERM raises :class:`Terminated` (the previous handler is restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopRequest:
    """The signal received inside :func:`deferred_stop`, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def exception(self, message: str) -> BaseException:
        if self.signum == signal.SIGTERM:
            return Terminated(message)
        return Interrupted(message)


@contextlib.contextmanager
def deferred_stop() -> Iterator[StopRequest]:
    """While inside: SIGINT and SIGTERM are recorded on the yielded :class:`StopRequest` instead of
    raising; the caller checks ``requested`` at safe points. A second signal raises at once."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if request.requested:
            raise request.exception("stopped at once (second signal); resume from the last checkpoint")
        request.signum = signum

    previous: dict[int, Any] = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
