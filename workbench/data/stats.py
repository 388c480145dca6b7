"""Per-key normalisation statistics of a dataset (streaming mean/std/min/max)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from workbench.data.episode import Episode, Stats, is_low_dim


class RunningStats:
    """Per-key mean/std/min/max over all timesteps, merged one episode at a time.

    Merging per-episode (count, mean, M2) with Chan et al.'s parallel formula is exact up to float64
    rounding and avoids the cancellation of a naive sum-of-squares on large-offset data.
    """

    def __init__(self) -> None:
        self._acc: dict[str, tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def update(self, key: str, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)  # (N, D)
        if len(x) == 0:
            return
        n_b, mean_b = len(x), x.mean(0)
        m2_b, min_b, max_b = ((x - mean_b) ** 2).sum(0), x.min(0), x.max(0)
        if key not in self._acc:
            self._acc[key] = (n_b, mean_b, m2_b, min_b, max_b)
            return
        n_a, mean_a, m2_a, min_a, max_a = self._acc[key]
        n = n_a + n_b
        delta = mean_b - mean_a
        self._acc[key] = (
            n,
            mean_a + delta * n_b / n,
            m2_a + m2_b + delta**2 * n_a * n_b / n,
            np.minimum(min_a, min_b),
            np.maximum(max_a, max_b),
        )

    def add_episode(self, ep: Episode) -> None:
        for k, v in ep.obs.items():
            if is_low_dim(k, v.shape[1:], v.dtype):
                self.update(f"obs/{k}", v)
        self.update("actions", ep.actions)
        if ep.expert_actions is not None:
            self.update("expert_actions", ep.expert_actions)

    def to_json(self) -> Stats:
        # Population std (ddof=0), like np.std. No floor here: normalisers decide how to treat ~0 std.
        return {
            k: {
                "mean": mean.tolist(),
                "std": np.sqrt(m2 / n).tolist(),
                "min": lo.tolist(),
                "max": hi.tolist(),
                "count": n,
            }
            for k, (n, mean, m2, lo, hi) in self._acc.items()
        }


def compute_stats(episodes: Iterator[Episode] | Sequence[Episode]) -> Stats:
    """Stats keyed like the npz (``obs/<key>``, ``actions``, ``expert_actions``): mean/std/min/max lists."""
    acc = RunningStats()
    for ep in episodes:
        acc.add_episode(ep)
    return acc.to_json()


