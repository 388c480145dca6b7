"""An SB3 algorithm's training state as plain tensors and numbers, and back: no pickle.

SB3's own ``save``/``save_replay_buffer`` write cloudpickle, which executes code on load, and they
leave out what an exact resume needs (the env RNG, the action-space RNG, the exploration position),
so resumed SB3 runs drift from uninterrupted ones. The workbench checkpoints instead:

- the optimizers and free tensors SB3 itself names as its torch state (``_get_torch_save_params``:
  e.g. SAC's actor/critic/entropy optimizers and ``log_ent_coef``), the policy being the agent's;
- the counters that drive schedules and target updates (``num_timesteps``, ``_n_updates``,
  DQN's ``_n_calls`` and epsilon, the progress fraction), the last observation and episode starts,
  the episode-statistics windows and the action space's generator (random warm-up actions, epsilon);
- the replay buffer's filled rows (HER's episode bookkeeping included) as tensors.

The model itself is rebuilt from the run's config, then this state is loaded into it.
"""

from __future__ import annotations

from collections import deque
from operator import attrgetter
from typing import Any

import numpy as np
import torch

COUNTERS = ("num_timesteps", "_episode_num", "_n_updates", "_n_calls", "_current_progress_remaining",
            "exploration_rate")  # fmt: skip
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts",
                 "ep_start", "ep_length")  # fmt: skip


def _tensors(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: torch.from_numpy(np.array(v)) for k, v in obs.items()}
    return torch.from_numpy(np.array(obs))


def _arrays(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: v.numpy() for k, v in obs.items()}
    return obs.numpy()


def algorithm_state(algo: Any) -> dict[str, Any]:
    names, tensors = algo._get_torch_save_params()
    return {
        "optimizers": {n: attrgetter(n)(algo).state_dict() for n in names if n != "policy"},
        "tensors": {n: attrgetter(n)(algo).detach().clone() for n in tensors},
        "counters": {k: getattr(algo, k) for k in COUNTERS if hasattr(algo, k)},
        "last_obs": _tensors(algo._last_obs),
        "last_episode_starts": torch.from_numpy(np.array(algo._last_episode_starts)),
        "ep_info": [[float(e["r"]), int(e["l"]), float(e["t"])] for e in algo.ep_info_buffer or ()],
        "ep_success": [float(x) for x in algo.ep_success_buffer or ()],
        "action_space_rng": algo.action_space.np_random.bit_generator.state,
    }


def load_algorithm_state(algo: Any, state: dict[str, Any]) -> Any:
    """Load into a freshly built algorithm; returns the saved last observation (numpy)."""
    for name, sd in state["optimizers"].items():
        attrgetter(name)(algo).load_state_dict(sd)
    for name, value in state["tensors"].items():
        with torch.no_grad():  # in place: the optimizer holds this very parameter
            attrgetter(name)(algo).copy_(value)
    for key, value in state["counters"].items():
        setattr(algo, key, value)
    window = algo._stats_window_size
    algo.ep_info_buffer = deque(({"r": r, "l": n, "t": t} for r, n, t in state["ep_info"]), maxlen=window)
    algo.ep_success_buffer = deque(state["ep_success"], maxlen=window)
    algo._last_episode_starts = state["last_episode_starts"].numpy().copy()
    algo.action_space.np_random.bit_generator.state = state["action_space_rng"]
    return _arrays(state["last_obs"])


def replay_state(buffer: Any) -> dict[str, Any]:
    """The filled rows of an SB3 (Dict/HER) replay buffer, as tensors."""
    filled = buffer.buffer_size if buffer.full else buffer.pos
    arrays: dict[str, torch.Tensor] = {}
    for name in BUFFER_ARRAYS:
        value = getattr(buffer, name, None)
        if isinstance(value, dict):
            arrays.update({f"{name}/{k}": torch.from_numpy(v[:filled].copy()) for k, v in value.items()})
        elif value is not None:
            arrays[name] = torch.from_numpy(value[:filled].copy())
    out: dict[str, Any] = {"pos": buffer.pos, "full": buffer.full, "filled": filled, "arrays": arrays}
    if hasattr(buffer, "_current_ep_start"):  # HER: where each env's running episode began
        out["current_ep_start"] = torch.from_numpy(buffer._current_ep_start.copy())
    return out


def load_replay_state(buffer: Any, state: dict[str, Any]) -> None:
    filled = int(state["filled"])
    if filled > buffer.buffer_size:
        raise ValueError(
            f"the checkpoint's replay buffer holds {filled} rows; this one fits {buffer.buffer_size}"
        )
    for key, tensor in state["arrays"].items():
        name, _, sub = key.partition("/")
        target = getattr(buffer, name)
        (target[sub] if sub else target)[:filled] = tensor.numpy()
    buffer.pos, buffer.full = int(state["pos"]), bool(state["full"])
    if "current_ep_start" in state:
        buffer._current_ep_start = state["current_ep_start"].numpy().copy()
