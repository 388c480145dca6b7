"""``backend=sync|async|ray``: where the envs of evaluation, collection and DAgger run."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import ConfigError

BACKEND_NAMES = ("sync", "async", "ray")


@dataclass
class BackendConfig:
    """``sync``: one process (Gymnasium's SyncVectorEnv); ``async``: one process per env
    (AsyncVectorEnv); ``ray``: ``workers`` Ray actors with ``envs_per_worker`` envs each (default: the
    command's ``num_envs`` spread over the workers), on a local Ray or the cluster at ``address``."""

    name: str = "sync"
    workers: int = 2  # ray only
    envs_per_worker: int | None = None  # ray only; null: ceil(num_envs / workers)
    address: str | None = None  # ray only: null starts a local Ray with this machine's cores; auto joins
    max_restarts: int = 3  # env/worker failures survived per call before giving up

    def __post_init__(self) -> None:
        if self.name not in BACKEND_NAMES:
            raise ConfigError(f"backend={self.name!r} is not one of {list(BACKEND_NAMES)}")
        if self.workers < 1 or (self.envs_per_worker is not None and self.envs_per_worker < 1):
            raise ConfigError("backend.workers and backend.envs_per_worker must be >= 1")
        if self.max_restarts < 0:
            raise ConfigError(f"backend.max_restarts={self.max_restarts} must be >= 0")
        if self.name == "ray":
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                from workbench.sampler.ray_backend import INSTALL_HINT

                raise ConfigError(INSTALL_HINT)

    def total_envs(self, num_envs: int) -> int:
        """How many envs run: ``num_envs``, or for ray ``workers * envs_per_worker`` when given."""
        if self.name == "ray" and self.envs_per_worker is not None:
            return self.workers * self.envs_per_worker
        return num_envs
