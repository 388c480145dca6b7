"""The real CLI with one fault injected, for the kill/signal tests: ``python faulty_cli.py ARGS``.

``WB_FAULT`` says which fault and where:

- ``kill:<N>``      SIGKILL this process during training step N, the first step at or past N (the
                    online trainer counts env steps); nothing runs after it: no handler, no cleanup,
                    as a power cut or the OOM killer
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
    from workbench.train.adversarial import AdversarialTrainer
    from workbench.train.model_based import ModelBasedTrainer
    from workbench.train.offline import OfflineTrainer
    from workbench.train.online import OnlineTrainer
    from workbench.train.rllib_trainer import RLlibTrainer

    target = int(where)
    fired = False

    def inject(original: Any) -> Any:
        # The first training step at or past N (the online trainer counts env steps, several per call).
        def train_step(self: Any) -> dict[str, float]:
            global fired
            if self.step >= target and not fired:
                fired = True
                if fault == "sleep":
                    print(f"sleeping at step {self.step}", flush=True)
                    time.sleep(60)
                else:
                    sig = {"kill": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT}[fault]
                    os.kill(os.getpid(), sig)
            return original(self)

        return train_step

    OfflineTrainer.train_step = inject(OfflineTrainer.train_step)  # type: ignore[method-assign]
    OnlineTrainer.train_step = inject(OnlineTrainer.train_step)  # type: ignore[method-assign]
    AdversarialTrainer.train_step = inject(AdversarialTrainer.train_step)  # type: ignore[method-assign]
    RLlibTrainer.train_step = inject(RLlibTrainer.train_step)  # type: ignore[method-assign]
    ModelBasedTrainer.train_step = inject(ModelBasedTrainer.train_step)  # type: ignore[method-assign]

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
