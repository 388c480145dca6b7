"""Files that survive a killed process and say when they are damaged: atomic writes, checksums,
stale temporary files, and file modes that follow the user's umask.

Every file the workbench writes lands in a temporary file next to its target
(``.<name>.wbtmp-<pid>-<random><suffix>``), is fsync'ed and then renamed over the target, so a killed
process leaves either the old file or the new one. The pid in the temporary name lets a later command
tell an orphan (its writer is dead) from a file being written right now, and remove only orphans.

Checksums: files that are loaded into a model or a training set (checkpoints, policy files, encoder
files) get a sidecar ``<file>.sha256`` in ``sha256sum`` format, written after the file itself. A flipped
byte in a tensor does not stop ``torch.load``; the sidecar does. (Dataset episodes keep their hash in the
dataset's ``meta.json`` instead, which is already their commit point.)

This module sits in ``foundation/`` because agents (policy files) and the workbench (checkpoints,
datasets) both write files and ``agents/`` never imports ``workbench/``. Standard library only
(torch is imported by :func:`save_torch` when it is called).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "CorruptFileError",
    "atomic_path",
    "checksum_path",
    "clean_stale_temp",
    "file_mode",
    "remove_with_checksum",
    "save_torch",
    "sha256_file",
    "verify_checksum",
    "write_checksum",
]

PathLike = str | os.PathLike[str]
TEMP_MARK = ".wbtmp-"
# `.<name>.wbtmp-<pid>-<anything>`: a file or a staging directory being written by process <pid>.
_TEMP_NAME = re.compile(r"^\..+\.wbtmp-(\d+)-.*$")
CHECKSUM_SUFFIX = ".sha256"


class CorruptFileError(ValueError):
    """A file exists but cannot be trusted (truncated write, bad zip, invalid JSON, checksum mismatch)."""


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temp_name(target: Path, tag: str = "", suffix: str = "") -> Path:
    """A temporary sibling of ``target`` that :func:`clean_stale_temp` recognises by its writer's pid."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{tag or secrets.token_hex(4)}{suffix}")


def _fsync_dir(directory: Path) -> None:
    # The rename itself lives in the directory entry; fsync the directory so it survives a power cut.
    # Not every platform lets you open a directory (Windows), and it is only a durability nicety.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str | None = None, checksum: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success, remove it on error.

    For writers that want a filename rather than a file object (``torch.save``, imageio). The
    temporary name keeps the target's suffix (or ``suffix``) because some writers pick their format
    from the extension, e.g. imageio choosing ffmpeg for ``.mp4``. ``checksum``: also write the
    ``<path>.sha256`` sidecar (after the file: a kill in between leaves a file without a sidecar,
    which loads unverified, never a sidecar that contradicts a good file).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target, suffix=target.suffix if suffix is None else suffix)
    # O_EXCL: never follow or reuse someone else's file; the mode follows the umask like any new file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
    os.close(fd)
    try:
        yield tmp
        # The writer closed its own handle; fsync by reopening so the bytes are on disk before rename.
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = sha256_file(tmp) if checksum else None
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            # Writes through a file object (numpy, json) fail without a path: name the target.
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(target)) from exc
        raise
    _fsync_dir(target.parent)
    if digest is not None:
        write_checksum(target, digest)


def save_torch(obj: object, path: PathLike, checksum: bool = True) -> None:
    """``torch.save`` through :func:`atomic_path` (with the ``.sha256`` sidecar). torch reports a failed
    write (a full disk) as a RuntimeError without an errno: it becomes the OSError it is."""
    import torch

    with atomic_path(path, checksum=checksum) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as exc:
            full = shutil.disk_usage(tmp.parent).free < (1 << 20)
            code = errno.ENOSPC if full else errno.EIO
            raise OSError(code, os.strerror(code), str(path)) from exc


def sha256_file(path: PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksum_path(path: PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + CHECKSUM_SUFFIX)


def write_checksum(path: PathLike, digest: str) -> None:
    """``<path>.sha256`` in ``sha256sum`` format (``sha256sum -c`` checks it by hand)."""
    p = Path(path)
    sidecar = checksum_path(p)
    tmp = temp_name(sidecar)
    tmp.write_text(f"{digest}  {p.name}\n")
    os.replace(tmp, sidecar)


def verify_checksum(path: PathLike) -> bool:
    """Check ``path`` against its ``.sha256`` sidecar. True when verified, False when there is no
    sidecar (a file written before checksums, or a kill between file and sidecar); a mismatch or an
    unreadable sidecar raises :class:`CorruptFileError` naming the file."""
    p = Path(path)
    sidecar = checksum_path(p)
    if not sidecar.is_file():
        return False
    try:
        expected = sidecar.read_text(encoding="ascii").split()[0].lower()
    except (UnicodeDecodeError, IndexError) as exc:
        raise CorruptFileError(f"{sidecar} is unreadable; delete it to load {p} unverified") from exc
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise CorruptFileError(f"{sidecar} does not hold a sha256 digest; delete it to load {p} unverified")
    if sha256_file(p) != expected:
        raise CorruptFileError(
            f"{p} is corrupt: its sha256 does not match {sidecar.name} (the file changed after it was "
            "written: a disk error or an edit)"
        )
    return True


def remove_with_checksum(path: PathLike) -> None:
    p = Path(path)
    p.unlink(missing_ok=True)
    checksum_path(p).unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temp(directory: PathLike, recursive: bool = True) -> list[Path]:
    """Remove temporary files and staging directories under ``directory`` whose writer is dead (a
    killed process's leftovers); those of live processes are left alone. Returns what was removed."""
    root = Path(directory)
    if not root.is_dir():
        return []
    removed: list[Path] = []
    for parent, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            match = _TEMP_NAME.match(name)
            if match is None or _pid_alive(int(match.group(1))):
                continue
            path = Path(parent) / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        # Do not walk into removed staging directories, nor below the top level unless asked.
        dirs[:] = [d for d in dirs if (Path(parent) / d).is_dir()] if recursive else []
    return removed
