"""The ``ray`` backend: actors, each owning a vector env, running chunks of episodes.

Ray stays an optional extra (``pip install 'embodied-workbench[ray]'``); asking for ``backend=ray``
without it is a one-line error saying so. ``ray.init`` starts a local Ray with this machine's cores
unless ``backend.address`` names a cluster to join (``auto`` for the one ``ray start`` began here).

Work is shipped per **chunk of episodes**, never per step: a remote call costs about as much as a
state-observation env step here, so step-level calls would spend most of the time in Ray. The policy
(and the label policy) go to the object store once per :meth:`RayPool.run`; each actor runs the same
episode loop as the local backends (:func:`workbench.sampler.episodes.run_episodes`) on its own
``SyncVectorEnv``.

Fault tolerance: an actor that dies (its process killed) or whose env raises is replaced by a new
actor, and its chunk's unfinished seeds go back into the queue; episodes it had already returned are
kept. Every requested seed ends up exactly once in the results; restarts are counted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from agents.base import Policy
from workbench.data import Episode
from workbench.errors import UserError
from workbench.sampler.episodes import EnvFailure, PolicyFailure, run_episodes
from workbench.sampler.factory import EnvFactory

INSTALL_HINT = "backend=ray needs Ray: pip install 'embodied-workbench[ray]' (or pip install 'ray[rllib]')"


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UserError(INSTALL_HINT) from exc
    return ray


class EpisodeWorker:
    """The body of one actor: a persistent vector env and the episode loop."""

    def __init__(self, factory: EnvFactory, num_envs: int) -> None:
        from workbench.sampler.vector import make_vector_env

        self.factory, self.num_envs = factory, num_envs
        self.venv = make_vector_env(factory, num_envs, "sync")

    def pid(self) -> int:
        return os.getpid()

    def run(self, policy: Policy, label_policy: Policy | None, seeds: Sequence[int]) -> list[Episode]:
        out: list[Episode] = []
        run_episodes(self.venv, policy, seeds, label_policy, out.append)
        return out


def start_ray(address: str | None) -> Any:
    """Ray, initialised once per process: a local instance with this machine's cores, or the cluster
    at ``address``. The sampler's actors and RLlib's EnvRunners share it."""
    ray = import_ray()
    if not ray.is_initialized():
        # Actors import what the driver imports: its working directory first on the path (a local
        # Ray; a cluster brings its own runtime environment).
        path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)
        env_vars = {
            "PYTHONPATH": path,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
            "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "egl"),
        }
        kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": os.cpu_count()}
        ray.init(
            **kwargs, include_dashboard=False, log_to_driver=False, configure_logging=False,
            runtime_env={"env_vars": env_vars},
        )  # fmt: skip
    return ray


class RayPool:
    """``workers`` actors with ``ceil(num_envs / workers)`` envs each (the same envs in total as the
    local backends with ``num_envs``)."""

    def __init__(self, factory: EnvFactory, num_envs: int, workers: int, address: str | None) -> None:
        ray = start_ray(address)
        self.ray = ray
        self.factory, self.workers = factory, workers
        self.envs_per_worker = max(1, math.ceil(num_envs / workers))
        # num_cpus=0: an actor spends most of its time waiting on its envs and the learner; a
        # reservation per actor would make `workers` > cores fail to schedule on a laptop.
        self.actor_class = ray.remote(num_cpus=0, max_restarts=0)(EpisodeWorker)
        self.actors = [self._new_actor() for _ in range(workers)]

    def _new_actor(self) -> Any:
        return self.actor_class.remote(self.factory, self.envs_per_worker)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []

    def run(
        self,
        policy: Policy,
        label_policy: Policy | None,
        seeds: Sequence[int],
        on_episode: Callable[[Episode], object],
        max_restarts: int,
    ) -> int:
        """Run every seed; returns the number of actor restarts. Chunks are small enough that every
        actor gets several (load balance), large enough to fill the actor's envs."""
        ray = self.ray
        policy_ref = ray.put(policy)
        label_ref = ray.put(label_policy)
        size = max(self.envs_per_worker, math.ceil(len(seeds) / (4 * len(self.actors))))
        queue = [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]
        running: dict[Any, tuple[int, list[int]]] = {}  # future -> (actor index, its chunk)
        idle = list(range(len(self.actors)))
        restarts = 0
        while queue or running:
            while queue and idle:
                index, chunk = idle.pop(0), queue.pop(0)
                future = self.actors[index].run.remote(policy_ref, label_ref, chunk)
                running[future] = (index, chunk)
            ready, _ = ray.wait(list(running), num_returns=1)
            future = ready[0]
            index, chunk = running.pop(future)
            try:
                for episode in ray.get(future):
                    on_episode(episode)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if hasattr(exc, "cause") else None
                if isinstance(cause, PolicyFailure):
                    raise cause from None
                restarts = self._restart(index, chunk, queue, restarts, max_restarts, exc)
            except ray.exceptions.RayActorError as exc:  # the actor's process died
                restarts = self._restart(index, chunk, queue, restarts, max_restarts, exc)
            idle.append(index)
        return restarts

    def _restart(
        self, index: int, chunk: list[int], queue: list[list[int]], restarts: int, limit: int, exc: Exception
    ) -> int:
        """Replace actor ``index`` and put its chunk back (the episodes it finished were never
        returned: a chunk comes back whole or not at all, so re-running all of it loses nothing)."""
        restarts += 1
        if restarts > limit:
            cause = getattr(exc, "cause", None) or exc
            raise UserError(
                f"{self.factory.env_id}: ray workers failed {restarts} times (last: "
                f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}); "
                f"gave up after backend.max_restarts={limit}"
            ) from exc
        self.ray.kill(self.actors[index])
        self.actors[index] = self._new_actor()
        queue.insert(0, chunk)
        return restarts


__all__ = ["INSTALL_HINT", "EnvFailure", "EpisodeWorker", "RayPool", "import_ray"]
