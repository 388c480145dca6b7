"""Atomic file writing and checked loading.

Every file the workbench writes goes through here (or through :mod:`foundation.files`, which holds
the primitives): data lands in a temporary file in the same directory, is flushed and fsync'ed, and
is then moved over the target with ``os.replace`` (atomic on POSIX and Windows when source and target
share a filesystem, which is why the temporary file lives next to the target rather than in ``/tmp``).
A killed process therefore leaves either the old file or the new one, never half of one.

Loading is the mirror image: a missing file is a ``FileNotFoundError`` naming the path, and a file
that cannot be parsed is a ``CorruptFileError`` naming the path, so the CLI can print one actionable
line instead of a zipfile traceback.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from foundation.files import CorruptFileError, atomic_path

__all__ = [
    "CorruptFileError",
    "atomic_path",
    "atomic_save_npz",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "load_json",
    "load_npz",
]

PathLike = str | os.PathLike[str]


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically. NaN/inf are refused: they are not JSON and other tools choke."""
    text = json.dumps(obj, indent=indent, allow_nan=False, default=_json_default)
    atomic_write_text(path, text + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays sneak into metadata (stats, seeds); store them as plain Python values.
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serializable")


def atomic_save_npz(path: PathLike, **arrays: np.ndarray) -> None:
    """Save ``arrays`` to a compressed ``.npz`` at ``path`` atomically.

    Keys may contain ``/`` (e.g. ``obs/rgb/front``); ``np.load`` returns them unchanged.
    """
    # Write through a file object: np.savez_compressed appends ".npz" to bare filenames that lack it.
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
        f.flush()


def load_json(path: PathLike) -> Any:
    """Load JSON from ``path``; ``FileNotFoundError`` if missing, ``CorruptFileError`` if unparseable."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{p} is corrupt or truncated ({e})") from e


def load_npz(path: PathLike, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` into memory (all of them, or only ``keys``).

    Reads eagerly (not the lazy ``NpzFile``) so that a truncated member fails here, with the path in
    the message, rather than later inside a training loop. ``allow_pickle=False``: dataset files
    never need objects, and unpickling untrusted data executes code. A requested key that is absent
    is a ``KeyError`` (the caller asked for the wrong thing), not a corrupt file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    # BadZipFile: truncated archive; zlib.error (not an OSError): damaged deflate stream;
    # ValueError/EOFError/OSError: damaged .npy header or short read inside an intact zip.
    corrupt = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError)
    try:
        npz = np.load(p, allow_pickle=False)
    except corrupt as e:
        raise CorruptFileError(f"{p} is corrupt or truncated ({type(e).__name__}: {e})") from e
    with npz:
        wanted = list(npz.files) if keys is None else list(keys)
        missing = [k for k in wanted if k not in npz.files]
        if missing:
            raise KeyError(f"{p} has no arrays {missing}; it holds {sorted(npz.files)}")
        try:
            return {k: npz[k] for k in wanted}
        except corrupt as e:
            raise CorruptFileError(f"{p} is corrupt or truncated ({type(e).__name__}: {e})") from e
