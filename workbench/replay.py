"""Re-simulation of recorded episodes: render any camera at any size, and verify determinism."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from workbench.data import Episode


@dataclass
class Verification:
    ok: bool
    steps: int
    first_divergence: int | None  # index of the first action after which the state differs
    max_error: float


def render_states(
    env: Any, sim_states: np.ndarray, camera: str, width: int, height: int
) -> np.ndarray:
    """(T, S) simulator states -> (T, H, W, 3) uint8 frames, by restoring each state and rendering."""
    base = env.unwrapped
    if camera not in base.camera_names:
        raise ValueError(f"unknown camera {camera!r}; valid choices: {', '.join(base.camera_names)}")
    frames = []
    for state in sim_states:
        base.set_state(state)
        frames.append(base.render_camera(camera, width, height))
    return np.stack(frames)


def verify_actions(env: Any, sim_states: np.ndarray, actions: np.ndarray, atol: float = 0.0) -> Verification:
    """Restore the initial state, re-run the recorded actions, compare every following state.

    ``actions`` are the ones the env executed: an episode's ``applied_actions`` where it has them (a
    wrapper such as ``ActionDelay`` changed the commands), else its ``actions``; see ``executed_actions``."""
    base = env.unwrapped
    base.set_state(sim_states[0])
    max_error = 0.0
    for t, action in enumerate(actions):
        base.step(action)
        error = float(np.max(np.abs(base.get_state() - sim_states[t + 1])))
        max_error = max(max_error, error)
        if not error <= atol:  # also catches NaN
            return Verification(False, len(actions), t, max_error)
    return Verification(True, len(actions), None, max_error)


def executed_actions(episode: Episode) -> np.ndarray:
    """(T, A) the actions the env executed in a recorded :class:`~workbench.data.Episode`: its
    ``applied_actions`` where a wrapper recorded them (``ActionDelay``), else the policy's ``actions``."""
    return episode.actions if episode.applied_actions is None else episode.applied_actions
