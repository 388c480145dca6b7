"""How many CPU threads torch uses for training: ``threads=auto`` or a number.

Why this exists: torch defaults to one OpenMP thread per core, and its idle OpenMP threads spin
while they wait for work. Beside one other busy process on a 2-core machine, a small state MLP then
trained 30-100x slower (7.6 vs 390 steps/s; docs/benchmarks.md), because every matmul waits for a
thread that the other process has descheduled. A small model gains little from a second thread
anyway (316 vs 390 steps/s alone), so ``auto`` gives it one thread, which is immune to a busy
neighbour. Image encoders (convolutions on 84x84 crops) are compute-bound and can gain from threads,
but the same stall hits them: a ResNet-18-GN (width 16, batch 64, 76x76 crops) trained 3-11x slower
with 2 threads than with 1 on the 2-core development machine while others worked on it (0.5-2.1 vs
1.9-7.3 steps/s, 2026-11-29, load average 2-7; it was never idle long enough to measure the gain
alone). So ``auto`` gives image models every core but one, at most 4: the
spare core absorbs the simulator, evaluation workers and neighbours, and past 4 threads these small
convolutions gain little. On 2 cores that is 1 thread; ``threads=2`` asks for both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

# Observation keys whose encoders are convolutional (image modes: rgb/<camera>, depth/<camera>, ...).
IMAGE_KEY_PREFIXES = ("rgb", "depth", "seg")
MAX_AUTO_THREADS = 4


def parse_threads(setting: str) -> int | None:
    """``"auto"`` -> None; a positive integer as a string -> that number; anything else fails."""
    text = str(setting).strip().lower()
    if text == "auto":
        return None
    n = int(text) if text.isdigit() else 0
    if n < 1:
        raise ValueError(
            f"threads={setting!r} is not valid; use threads=auto (1 for state models, up to "
            f"{MAX_AUTO_THREADS} for image models) or a positive integer such as threads=2"
        )
    return n


def has_image_keys(obs_keys: Iterable[str]) -> bool:
    return any(str(key).split("/", 1)[0] in IMAGE_KEY_PREFIXES for key in obs_keys)


def auto_threads(agent_config: Any, device_type: str, cpu_count: int | None = None) -> int:
    """The ``threads=auto`` choice: 1 unless the agent encodes images, then min(cores - 1, 4) (>= 1).

    On an accelerator the same rule holds: the model runs there, but image batches are still
    cropped and converted on the CPU, and a state model's CPU work is too small to split.
    """
    del device_type  # the rule is the same on every device (see above); kept for the call site
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    obs_keys = getattr(agent_config, "obs_keys", None) or []
    if has_image_keys(obs_keys):
        return max(1, min(cores - 1, MAX_AUTO_THREADS))
    return 1


def configure_threads(setting: str, agent_config: object, device_type: str) -> int:
    """Set torch's intra-op threads from ``setting`` ("auto" or e.g. "2") and return the number.

    Inter-op threads (the pool for parallel graph branches, unused by these models) are set too,
    but torch allows that only once per process and only before any parallel work: a second call
    (e.g. a multirun or a benchmark running several trainings in one process) keeps the first value.
    """
    import torch

    requested = parse_threads(setting)
    n = requested if requested is not None else auto_threads(agent_config, device_type)
    torch.set_num_threads(n)
    try:
        if torch.get_num_interop_threads() != n:
            torch.set_num_interop_threads(n)
    except RuntimeError:
        pass  # parallel work has started or it was set before: torch refuses, which is harmless
    return n
