"""The real CLI with one fault injected, for the kill/signal tests: ``python faulty_cli.py ARGS``.

``WB_FAULT`` says which fault and where:

- ``kill:<N>``      SIGKILL this process during training step N (nothing runs after it: no handler,
                    no cleanup, as a power cut or the OOM killer)
- ``term:<N>``      SIGTERM to itself during training step N (as a batch scheduler's stop)
- ``int:<N>``       SIGINT to itself during training step N (Ctrl-C)
- ``sleep:<N>``     sleep 60 s at step N, holding the run (for the lock test; the test kills it)
- ``kill_in_save:<NAME>``  SIGKILL half-way through writing the checkpoint file NAME (its temporary
                    file holds half the bytes when the process dies)
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

fault, _, where = os.environ.get("WB_FAULT", "").partition(":")

if fault in ("kill", "term", "int", "sleep"):
    from workbench.train.offline import OfflineTrainer

    original_step = OfflineTrainer.train_step
    target = int(where)

    def train_step(self: OfflineTrainer) -> dict[str, float]:
        if self.step == target:
            if fault == "sleep":
                print(f"sleeping at step {target}", flush=True)
                time.sleep(60)
            else:
                sig = {"kill": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT}[fault]
                os.kill(os.getpid(), sig)
        return original_step(self)

    OfflineTrainer.train_step = train_step  # type: ignore[method-assign]

if fault == "kill_in_save":
    import torch

    original_save = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        original_save(obj, f, *args, **kwargs)
        if where in str(f):
            size = os.path.getsize(f)
            os.truncate(f, size // 2)
            os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save

if __name__ == "__main__":
    from workbench.cli import main

    sys.exit(main(sys.argv[1:]))
