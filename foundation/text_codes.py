"""Text as fixed-width byte codes, so instructions travel through arrays and tensors like any observation.

A batch of strings becomes a ``(N, L)`` uint8 array (each character's ASCII code, 0-padded on the
right); decoding strips the padding. The datasets store instructions this way in training batches and
the language-conditioned agents decode them (and cache what they computed per distinct string: an
instruction is the same for a whole episode).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_texts(texts: Sequence[str] | np.ndarray, length: int) -> np.ndarray:
    """``N`` strings -> ``(N, length)`` uint8 codes; a longer string or a non-ASCII character fails."""
    items = [str(t) for t in np.asarray(texts, dtype=object).reshape(-1)]
    too_long = [t for t in items if len(t) > length]
    if too_long:
        raise ValueError(f"text {too_long[0]!r} is longer than {length} characters")
    try:
        raw = np.array([t.encode("ascii") for t in items], dtype=f"S{length}")  # (N,) 0-padded bytes
    except UnicodeEncodeError as exc:
        raise ValueError(f"text holds a non-ASCII character ({exc.object!r})") from exc
    return raw.view(np.uint8).reshape(len(items), length).copy()  # (N, L)


def decode_texts(codes: np.ndarray) -> list[str]:
    """``(N, L)`` uint8 codes -> ``N`` strings (trailing zeros dropped)."""
    codes = np.ascontiguousarray(np.asarray(codes, dtype=np.uint8))
    n, length = codes.reshape(-1, codes.shape[-1]).shape
    raw = codes.reshape(n, length).view(f"S{length}")[:, 0]  # (N,) bytes, numpy strips the zeros
    return [b.decode("ascii") for b in raw]
