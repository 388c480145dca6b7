"""One writer per directory: a run or a dataset is locked while a process writes it.

``DIR/.lock`` holds the writer's pid under an advisory ``flock``. The kernel drops the lock when
the process dies, however it dies, so a killed run never stays locked; a second ``train resume=R``
or ``collect out=D append=true`` on a live directory is refused, naming the pid that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from foundation.files import file_mode
from workbench.errors import UserError

LOCK_NAME = ".lock"


class DirectoryLock:
    """Hold ``directory/.lock`` until :meth:`release` (or process exit)."""

    def __init__(self, directory: Path, what: str) -> None:
        self.path = Path(directory) / LOCK_NAME
        self.fd = -1
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self.fd)
            self.fd = -1
            raise UserError(
                f"{what} {directory} is being written by another workbench process (pid {holder}); "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:  # an abandoned writer (an exception, a dropped object) frees its lock
        self.release()


@contextlib.contextmanager
def locked(directory: Path, what: str) -> Iterator[DirectoryLock]:
    lock = DirectoryLock(directory, what)
    try:
        yield lock
    finally:
        lock.release()
