"""Scripted experts: Markovian policies over the task ``state`` vector, for demos and DAgger/DART labels.

A multimodal task (``task.expert_modes > 1``, e.g. PushAround's left or right) adds one hidden choice
per episode: the expert draws its mode from the episode seed and is Markovian given it."""

from __future__ import annotations

import numpy as np

from envs.tasks import get_task


class ScriptedExpert:
    """Policy over batched observations: ``act(obs)`` with ``obs["state"]`` of shape (B, state_dim).

    The action is a pure function of the current state (no phase memory), so behaviour cloning can
    imitate it. ``noise`` > 0 adds N(0, noise^2) per action entry (DART, Laskey et al. 2017) from the
    expert's own seeded generator, then clips to [-1, 1]; ``label`` always returns the clean action.
    Tasks compute ``ee_delta_yaw`` actions (B, 5); for ``ee_delta`` the yaw entry is dropped (B, 4).
    """

    def __init__(self, task: str, noise: float = 0.0, seed: int | None = None,
                 controller: str | None = None) -> None:
        if noise < 0:
            raise ValueError(f"expert noise must be >= 0, got {noise}")
        self.task = get_task(task)
        self.controller = controller or self.task.default_controller
        if self.controller not in self.task.expert_controllers:
            drives = " or ".join(self.task.expert_controllers)
            raise ValueError(
                f"the scripted {self.task.name} expert drives {drives}; got controller={self.controller!r}"
            )
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._row_rngs: list[np.random.Generator] = []
        self._modes = np.zeros(0, dtype=np.int64)  # (B,) each row's strategy this episode

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._row_rngs = []
        self._modes = np.zeros(0, dtype=np.int64)

    def modes(self, batch: int) -> np.ndarray:
        """(B,) the rows' current modes; rows never reset with a seed draw theirs from the expert's rng."""
        if len(self._modes) < batch:
            extra = self._rng.integers(0, self.task.expert_modes, batch - len(self._modes))
            self._modes = np.concatenate([self._modes, extra])
        return self._modes[:batch]

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        """Rows of ``mask`` start new episodes. With their ``seeds``, each row's DART noise and mode come
        from generators seeded by its episode seed, so neither depends on the number of envs."""
        if self.task.expert_modes > 1:
            modes = self.modes(len(mask)).copy()
            for row in map(int, np.flatnonzero(mask)):
                seed = None if seeds is None else seeds[row]
                rng = self._rng if seed is None else np.random.default_rng([seed, 0x30DE])
                modes[row] = rng.integers(0, self.task.expert_modes)
            self._modes = modes
        if seeds is None or self.noise == 0:
            return
        if len(self._row_rngs) < len(mask):
            self._row_rngs += [np.random.default_rng(0) for _ in range(len(mask) - len(self._row_rngs))]
        for row in map(int, np.flatnonzero(mask)):
            seed = seeds[row]
            if seed is not None:
                self._row_rngs[row] = np.random.default_rng([seed, 0xDA27])

    def label(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Clean expert action, (B, action_dim) float32 in [-1, 1]."""
        state = np.asarray(obs["state"], dtype=np.float64)
        if state.ndim != 2 or state.shape[1] != self.task.state_dim:
            raise ValueError(
                f"{self.task.name} expert expects obs['state'] of shape (B, {self.task.state_dim}), "
                f"got {state.shape}"
            )
        if self.task.expert_modes > 1:
            action = self.task.expert_action_in_mode(state, self.modes(len(state))).astype(np.float32)
        else:
            action = self.task.expert_action(state).astype(np.float32)  # (B, 5)
        if self.controller == "ee_delta":
            action = action[:, [0, 1, 2, 4]]
        return action

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        action = self.label(obs)
        if self.noise > 0:
            if len(self._row_rngs) == len(action):  # per-episode generators (reset_envs with seeds)
                noise = np.stack([rng.normal(0.0, self.noise, action.shape[1]) for rng in self._row_rngs])
            else:
                noise = self._rng.normal(0.0, self.noise, action.shape)
            action = np.clip(action + noise, -1.0, 1.0)
        return action.astype(np.float32)
