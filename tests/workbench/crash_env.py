"""A Reach env that fails once on a chosen seed, for the sampler's fault-tolerance tests.

``gym.make("tests.workbench.crash_env:CrashOnce-v0", marker=..., crash_seed=..., mode=...)`` works in
any process (async workers, Ray actors import this module by name). The marker file makes the crash
happen once across processes: the re-run after the restart succeeds. ``mode="kill"`` SIGKILLs the
process holding the env (an async worker or a Ray actor) instead of raising.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import gymnasium as gym


class CrashOnce(gym.Wrapper[Any, Any, Any, Any]):
    def __init__(self, marker: str, crash_seed: int, mode: str = "raise") -> None:
        import envs  # noqa: F401  (registers wb/ ids in this process)

        super().__init__(gym.make("wb/Reach-mujoco-v0", obs_mode="state"))
        self.marker, self.crash_seed, self.mode = marker, crash_seed, mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if seed == self.crash_seed and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"simulated simulator crash on seed {seed}")
        return self.env.reset(seed=seed, options=options)


def make_crash_once(marker: str, crash_seed: int, mode: str = "raise") -> CrashOnce:
    return CrashOnce(marker, crash_seed, mode)


# A function entry point: gym.make reads `metadata` off a class entry point, which a Wrapper
# subclass only has on instances.
gym.register("CrashOnce-v0", entry_point=make_crash_once, max_episode_steps=50)
