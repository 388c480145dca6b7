"""Data-parallel training: ``trainer.world_size=N`` launches N processes that train one model with
``torch.distributed`` (DDP; ``gloo`` on CPU, ``nccl`` on GPUs, one GPU per process).

The global batch stays what the agent's ``batch_size`` says: every rank draws the same global batch
indices from the same seeded generator and takes its share (``indices[rank::world]``), and DDP
averages the gradients, so N processes take the steps one process would take, up to float summation
order. Rank 0 alone writes checkpoints (with every rank's RNG state), logs and evaluates; every rank
restores its own RNG on resume. A signal or a non-finite loss on any rank stops all of them at the
same step (the ranks agree through one small all-reduce per step).

The parent process (the CLI) holds the run's lock, collects the demonstrations, spawns the ranks and
waits; a SIGTERM or Ctrl-C it receives is forwarded, so the ranks stop with a checkpoint as one
process would.
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import UserError, one_line


@dataclass
class DistInfo:
    """This process's place in a data-parallel run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag OR-ed over the ranks (one all-reduce)."""
        if self.world == 1:
            return flags
        import torch
        import torch.distributed as dist

        t = torch.tensor([int(f) for f in flags], dtype=torch.int32)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return tuple(bool(v) for v in t.tolist())

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (None elsewhere)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] | None = [None] * self.world if self.main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def check_world(cfg: TrainConfig) -> None:
    """Refuse what data-parallel training cannot do, before any work."""
    world = cfg.trainer.world_size
    if world == 1:
        return
    if cfg.dagger.rounds > 0:
        raise UserError("trainer.world_size > 1 trains offline agents; DAgger runs in one process")
    if cfg.agent.batch_size % world:
        raise UserError(
            f"agent.batch_size={cfg.agent.batch_size} does not split over trainer.world_size={world}; "
            "choose a batch size divisible by it (the global batch stays agent.batch_size)"
        )
    import torch

    if cfg.device in ("cuda", "auto") and torch.cuda.is_available() and torch.cuda.device_count() < world:
        raise UserError(f"trainer.world_size={world} needs {world} GPUs; {torch.cuda.device_count()} visible")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(cfg: TrainConfig, run_dir: Path, dataset_dir: Path, resuming: bool) -> dict[str, Any]:
    """Run ``cfg.trainer.world_size`` ranks of :func:`workbench.train.run.train_offline`; returns rank
    0's final results. A rank's failure ends the run with its one-line message."""
    import torch.multiprocessing as mp

    from workbench.io import load_json

    world = cfg.trainer.world_size
    ctx = mp.get_context("spawn")
    errors = ctx.SimpleQueue()
    port = _free_port()
    procs = [
        ctx.Process(target=_rank_main, args=(rank, world, port, cfg, run_dir, dataset_dir, resuming, errors))
        for rank in range(world)
    ]
    for p in procs:
        p.start()
    interrupted: BaseException | None = None
    try:
        _join(procs)
    except BaseException as exc:
        from workbench.signals import Terminated

        # SIGTERM reached the parent alone: pass it on, so the ranks stop with a checkpoint. (Ctrl-C
        # in a terminal reaches every process of the group already; a second signal would stop the
        # ranks at once, without one.)
        if isinstance(exc, Terminated):
            for p in procs:
                if p.is_alive() and p.pid is not None:
                    os.kill(p.pid, signal.SIGTERM)
        _join(procs, grace=120.0)
        interrupted = exc
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    if interrupted is not None and not failures:
        raise interrupted
    if failures:
        rank, kind, message = sorted(failures)[0]
        if kind in ("Terminated", "Interrupted"):
            from workbench.signals import Interrupted, Terminated

            raise (Terminated if kind == "Terminated" else Interrupted)(message)
        raise UserError(f"{message} (rank {rank} of {world})" if kind != "UserError" else message)
    if any(p.exitcode for p in procs):
        codes = [p.exitcode for p in procs]
        raise UserError(
            f"a training process died (exit codes {codes}); resume with `workbench train resume={run_dir}`"
        )
    results: dict[str, Any] = load_json(run_dir / "eval" / "results.json")
    return results


def _join(procs: list[Any], grace: float = 10.0) -> None:
    """Wait for every rank; once one has failed, give the others ``grace`` seconds (they usually fail
    too: the ranks agree on stops) and then kill them, since a rank left in a collective would wait
    forever."""
    import time

    failed_at = None
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(timeout=0.2)
        if failed_at is None and any(p.exitcode not in (None, 0) for p in procs):
            failed_at = time.monotonic()
        if failed_at is not None and time.monotonic() - failed_at > grace:
            for p in procs:
                if p.is_alive():
                    p.kill()


def _rank_main(
    rank: int, world: int, port: int, cfg: TrainConfig, run_dir: Path, dataset_dir: Path, resuming: bool,
    errors: Any,
) -> None:  # fmt: skip
    """One rank: join the process group, train, report a failure as (rank, kind, one line)."""
    import sys

    import torch
    import torch.distributed as dist

    from workbench.signals import Interrupted, Terminated, sigterm_raises
    from workbench.threads import configure_threads
    from workbench.train.device import pick_device

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    use_cuda = cfg.device in ("cuda", "auto") and torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    try:
        with sigterm_raises():
            device = torch.device(f"cuda:{rank}") if use_cuda else pick_device("cpu")
            if use_cuda:
                torch.cuda.set_device(device)
            configure_threads(cfg.threads, cfg.agent, device.type)
            from workbench.train.run import train_offline

            train_offline(cfg, run_dir, dataset_dir, device, resuming, DistInfo(rank, world))
    except (Terminated, Interrupted, KeyboardInterrupt) as exc:
        kind = "Terminated" if isinstance(exc, Terminated) else "Interrupted"
        errors.put((rank, kind, one_line(exc) if str(exc) else kind.lower()))
        sys.exit(1)
    except UserError as exc:
        errors.put((rank, "UserError", one_line(exc)))
        sys.exit(1)
    except Exception as exc:
        errors.put((rank, type(exc).__name__, f"{type(exc).__name__}: {one_line(exc)}"))
        sys.exit(1)
    finally:
        dist.destroy_process_group()
