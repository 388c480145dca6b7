"""The on-disk episode dataset: one directory, written incrementally and atomically.

Layout (DESIGN.md, "Episodes and datasets")::

    DIR/meta.json                              format, version, env, specs, fps, cameras, index, stats
    DIR/episodes/episode_000000.npz            per-episode arrays, compressed
    DIR/videos/episode_000000/<camera>.mp4     per-camera video of the ``rgb/<camera>`` observations

``meta.json`` is the commit point: an episode exists once meta lists it, and ``complete`` turns true
when the writer is closed. The writer writes the
episode's video and arrays first and rewrites meta last, each atomically, so a collection killed at
any moment leaves a valid dataset of the episodes it completed (at worst plus an orphan file that
the next ``append`` overwrites).

Arrays in an episode file, with T the number of actions::

    obs/<key>        (T+1, ...)   every observation including the final one; '/' kept in the name
    actions          (T, A)       float32, what was executed
    expert_actions   (T, A)       float32, optional clean labels (DART noise, DAgger)
    rewards          (T,)         float32
    successes        (T,)         bool, info["is_success"] after each step
    sim_states       (T+1, S)     float64, optional; get_state() before the first action, after each step
    terminated, truncated         () bool
    seed             () int64, -1 when None
    info_json        () str, JSON of small extras

torch is never imported here, so the CLI can list and inspect datasets instantly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.io import CorruptFileError, atomic_save_npz, atomic_write_json, load_json, load_npz
from workbench.video import read_video, write_video

__all__ = [
    "FORMAT",
    "VERSION",
    "DatasetWriter",
    "Episode",
    "compute_stats",
    "dataset_stats",
    "episode_path",
    "is_image_key",
    "is_low_dim",
    "iter_episodes",
    "load_episode",
    "load_meta",
    "spec_from_space",
    "video_path",
]

FORMAT = "workbench-dataset"
VERSION = 1
IMAGE_PREFIXES = ("rgb", "depth", "seg")

PathLike = str | os.PathLike[str]
Stats = dict[str, dict[str, Any]]


# --------------------------------------------------------------------------------------------- Episode


@dataclass
class Episode:
    """One episode's arrays; T = number of actions (see the module docstring for shapes)."""

    obs: dict[str, np.ndarray]  # key -> (T+1, ...)
    actions: np.ndarray  # (T, A) float32
    rewards: np.ndarray  # (T,) float32
    terminated: bool = False
    truncated: bool = False
    successes: np.ndarray | None = None  # (T,) bool; None -> all False
    sim_states: np.ndarray | None = None  # (T+1, S) float64
    expert_actions: np.ndarray | None = None  # (T, A) float32
    seed: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Normalise dtypes once here so every consumer can rely on them.
        self.actions = np.asarray(self.actions, dtype=np.float32)
        if self.actions.ndim == 1:  # a scalar action per step -> (T, 1)
            self.actions = self.actions[:, None]
        t = len(self.actions)
        self.rewards = np.asarray(self.rewards, dtype=np.float32).reshape(-1)
        self.successes = (
            np.zeros(t, dtype=bool) if self.successes is None else np.asarray(self.successes, dtype=bool)
        )
        self.obs = {k: np.asarray(v) for k, v in self.obs.items()}
        if self.sim_states is not None:
            self.sim_states = np.asarray(self.sim_states, dtype=np.float64)
        if self.expert_actions is not None:
            self.expert_actions = np.asarray(self.expert_actions, dtype=np.float32).reshape(
                self.actions.shape
            )
        self.terminated, self.truncated = bool(self.terminated), bool(self.truncated)
        self.seed = None if self.seed is None else int(self.seed)

        def check(name: str, arr: np.ndarray, n: int) -> None:
            if len(arr) != n:
                raise ValueError(f"episode {name} has length {len(arr)}, expected {n} (T={t} actions)")

        check("rewards", self.rewards, t)
        check("successes", self.successes, t)
        for k, v in self.obs.items():
            check(f"obs[{k!r}]", v, t + 1)
        if self.sim_states is not None:
            check("sim_states", self.sim_states, t + 1)

    @property
    def length(self) -> int:
        return len(self.actions)

    @property
    def success(self) -> bool:
        assert self.successes is not None  # set in __post_init__
        return bool(self.successes.any())

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum(dtype=np.float64))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz payload (keys as in the module docstring)."""
        assert self.successes is not None
        arrays: dict[str, np.ndarray] = {f"obs/{k}": v for k, v in self.obs.items()}
        arrays.update(
            actions=self.actions,
            rewards=self.rewards,
            successes=self.successes,
            terminated=np.asarray(self.terminated),
            truncated=np.asarray(self.truncated),
            seed=np.asarray(-1 if self.seed is None else self.seed, dtype=np.int64),
            info_json=np.asarray(json.dumps(self.info)),
        )
        if self.sim_states is not None:
            arrays["sim_states"] = self.sim_states
        if self.expert_actions is not None:
            arrays["expert_actions"] = self.expert_actions
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Episode:
        seed = int(arrays["seed"]) if "seed" in arrays else -1
        return cls(
            obs={k[len("obs/") :]: v for k, v in arrays.items() if k.startswith("obs/")},
            actions=arrays["actions"],
            rewards=arrays["rewards"],
            terminated=bool(arrays.get("terminated", False)),
            truncated=bool(arrays.get("truncated", False)),
            successes=arrays.get("successes"),
            sim_states=arrays.get("sim_states"),
            expert_actions=arrays.get("expert_actions"),
            seed=None if seed < 0 else seed,
            info=json.loads(str(arrays["info_json"])) if "info_json" in arrays else {},
        )


# ----------------------------------------------------------------------------------------------- specs


def is_image_key(key: str) -> bool:
    """``rgb/front``, ``depth/wrist``, ``seg/front``: per-camera images."""
    return key.split("/", 1)[0] in IMAGE_PREFIXES


def is_low_dim(key: str, per_step_shape: Sequence[int], dtype: Any) -> bool:
    """A numeric vector (or scalar) per step: what gets statistics and lives fully in memory."""
    return not is_image_key(key) and len(per_step_shape) <= 1 and np.issubdtype(np.dtype(dtype), np.number)


def _low_dim_keys(obs_spec: Mapping[str, Any]) -> list[str]:
    return [k for k, s in obs_spec.items() if is_low_dim(k, s.get("shape", []), s.get("dtype", "float32"))]


def _bound(x: np.ndarray) -> float | list[float | None] | None:
    # JSON has no inf: unbounded entries become null. Small bounds are kept elementwise (actions);
    # large ones (an 84x84x3 image box) collapse to a scalar when uniform, else are dropped.
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    as_json = [float(v) if np.isfinite(v) else None for v in flat]
    if flat.size <= 64:
        return as_json
    return as_json[0] if np.all(flat == flat[0]) else None


def spec_from_space(space: Any) -> dict[str, Any]:
    """JSON spec of a gymnasium space: a Box/Discrete/Text spec, or ``{key: spec}`` for a Dict.

    Nested Dicts are flattened with ``/`` (``{"rgb": {"front": Box}}`` -> ``"rgb/front"``), matching
    the observation keys used everywhere else.
    """
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        out: dict[str, Any] = {}
        for key, sub in space.spaces.items():
            if isinstance(sub, spaces.Dict):
                out.update({f"{key}/{k}": v for k, v in spec_from_space(sub).items()})
            else:
                out[key] = spec_from_space(sub)
        return out
    if isinstance(space, spaces.Box):
        spec: dict[str, Any] = {"shape": list(space.shape), "dtype": str(space.dtype)}
        low, high = _bound(space.low), _bound(space.high)
        if low is not None:
            spec["low"] = low
        if high is not None:
            spec["high"] = high
        return spec
    if isinstance(space, spaces.Discrete):
        return {"shape": [], "dtype": "int64", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"shape": list(space.shape), "dtype": "int64", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.Text):
        return {"shape": [], "dtype": "str", "max_length": int(space.max_length)}
    raise TypeError(f"spec_from_space does not support {type(space).__name__}")


def observation_spec(space: Any) -> dict[str, Any]:
    """``{key: spec}`` of an observation space; a plain (non-Dict) space is recorded as ``state``."""
    from gymnasium import spaces

    return spec_from_space(space) if isinstance(space, spaces.Dict) else {"state": spec_from_space(space)}


# ----------------------------------------------------------------------------------------------- stats


class _RunningStats:
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
    acc = _RunningStats()
    for ep in episodes:
        acc.add_episode(ep)
    return acc.to_json()


# ---------------------------------------------------------------------------------------------- writer


def episode_path(root: PathLike, index: int) -> Path:
    return Path(root) / "episodes" / f"episode_{index:06d}.npz"


def video_path(root: PathLike, index: int, camera: str) -> Path:
    return Path(root) / "videos" / f"episode_{index:06d}" / f"{camera}.mp4"


class DatasetWriter:
    """Writes episodes into a dataset directory, keeping it valid after every ``add``.

    ``store_images=True`` also keeps image observations losslessly in the npz (training then sees
    exactly what the policy saw); with False they live only in the (lossy) mp4s and
    ``load_episode`` decodes them from there, which is far smaller on disk.
    """

    def __init__(
        self,
        root: PathLike,
        env_id: str,
        env_kwargs: Mapping[str, Any],
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        fps: int,
        cameras: Sequence[str] | None = None,
        append: bool = False,
        store_images: bool = True,
    ) -> None:
        self.root = Path(root)
        if cameras is None:  # every rgb/<camera> observation gets a video
            cameras = [k.split("/", 1)[1] for k in obs_spec if k.startswith("rgb/")]
        self.meta: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "env_id": env_id,
            "env_kwargs": dict(env_kwargs),
            "obs_spec": dict(obs_spec),
            "action_spec": dict(action_spec),
            "fps": int(fps),
            "cameras": list(cameras),
            "store_images": bool(store_images),
            # False until close(): a dataset whose collection was killed is valid but may be short.
            "complete": False,
            "num_episodes": 0,
            "num_steps": 0,
            "episodes": [],
            "stats": {},
        }
        # Round-trip through JSON so in-memory meta compares equal to what load_meta returns.
        self.meta = json.loads(json.dumps(self.meta))
        self._stats = _RunningStats()
        self._closed = False

        if self.root.exists() and any(self.root.iterdir()):
            if not (self.root / "meta.json").is_file():
                raise FileExistsError(
                    f"{self.root} is not empty and is not a workbench dataset (no meta.json); "
                    "choose a new or empty directory"
                )
            existing = load_meta(self.root)
            if not append:
                raise FileExistsError(
                    f"{self.root} already holds a dataset with {existing['num_episodes']} episodes; "
                    "pass append=True to add episodes to it, or choose a new directory"
                )
            self._check_compatible(existing)
            self.meta["episodes"] = existing["episodes"]
            self.meta["num_episodes"] = len(existing["episodes"])
            self.meta["num_steps"] = sum(e["length"] for e in existing["episodes"])
            # Rebuild stats from the files rather than trusting meta: a killed writer may have left
            # stats that lag behind its episode list.
            for ep in iter_episodes(self.root, obs_keys=_low_dim_keys(existing["obs_spec"])):
                self._stats.add_episode(ep)
            self.meta["stats"] = self._stats.to_json()
        (self.root / "episodes").mkdir(parents=True, exist_ok=True)
        self._write_meta()

    def _check_compatible(self, existing: Mapping[str, Any]) -> None:
        for key in ("env_id", "obs_spec", "action_spec", "fps", "store_images"):
            if existing.get(key) != self.meta[key]:
                raise ValueError(
                    f"cannot append to {self.root}: its {key} is {existing.get(key)!r} but this writer "
                    f"has {self.meta[key]!r}; write to a new directory instead"
                )

    def _check_episode(self, ep: Episode) -> None:
        spec = self.meta["obs_spec"]
        if set(ep.obs) != set(spec):
            raise ValueError(
                f"episode observation keys {sorted(ep.obs)} do not match the obs_spec keys {sorted(spec)}"
            )
        for k, v in ep.obs.items():
            if "shape" in spec[k] and list(v.shape[1:]) != list(spec[k]["shape"]):
                raise ValueError(
                    f"obs[{k!r}] has per-step shape {list(v.shape[1:])}, spec says {spec[k]['shape']}"
                )
        a_shape = self.meta["action_spec"].get("shape")
        # Discrete actions (shape []) are stored as (T, 1).
        if a_shape is not None and list(ep.actions.shape[1:]) != (list(a_shape) or [1]):
            raise ValueError(f"actions have per-step shape {list(ep.actions.shape[1:])}, spec says {a_shape}")

    def _write_meta(self) -> None:
        atomic_write_json(self.root / "meta.json", self.meta)

    @property
    def num_episodes(self) -> int:
        return int(self.meta["num_episodes"])

    def add(self, episode: Episode) -> int:
        """Write one episode (videos, then arrays, then meta); returns its index."""
        if self._closed:
            raise RuntimeError(f"DatasetWriter for {self.root} is closed")
        self._check_episode(episode)
        index = self.num_episodes
        videos: dict[str, str] = {}
        for cam in self.meta["cameras"]:
            frames = episode.obs.get(f"rgb/{cam}")
            if frames is None:
                continue
            path = video_path(self.root, index, cam)
            write_video(path, frames, fps=self.meta["fps"])  # (T+1, H, W, 3)
            videos[cam] = str(path.relative_to(self.root))
        arrays = episode.to_arrays()
        if not self.meta["store_images"]:
            arrays = {k: v for k, v in arrays.items() if not (k.startswith("obs/rgb/") and k[8:] in videos)}
        npz = episode_path(self.root, index)
        atomic_save_npz(npz, **arrays)
        self._stats.add_episode(episode)
        self.meta["episodes"].append(
            {
                "index": index,
                "file": str(npz.relative_to(self.root)),
                "videos": videos,
                "length": episode.length,
                "return": episode.episode_return,
                "success": episode.success,
                "terminated": episode.terminated,
                "truncated": episode.truncated,
                "seed": episode.seed,
                "has_expert_actions": episode.expert_actions is not None,
                "has_sim_states": episode.sim_states is not None,
            }
        )
        self.meta["num_episodes"] = index + 1
        self.meta["num_steps"] += episode.length
        # Stats are cheap to keep current (running merge), so a killed collection still has them.
        self.meta["stats"] = self._stats.to_json()
        self._write_meta()
        return index

    def close(self) -> None:
        """Write final statistics and ``complete: true`` into meta.json. Idempotent."""
        if self._closed:
            return
        self.meta["stats"] = self._stats.to_json()
        self.meta["complete"] = True
        self._write_meta()
        self._closed = True

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------- reader


def load_meta(root: PathLike) -> dict[str, Any]:
    """Read and validate ``root/meta.json``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory {root} does not exist")
    path = root / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{root} is not a workbench dataset: {path} does not exist")
    meta = load_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptFileError(f"{path} is not a workbench dataset meta file (format != {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path} has dataset version {meta.get('version')}, this workbench reads version {VERSION}; "
            "re-collect the dataset or use a matching workbench version"
        )
    return meta


def load_episode(
    root: PathLike,
    index: int,
    obs_keys: Sequence[str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Episode:
    """Load episode ``index``; ``obs_keys`` limits which observations are read (all by default).

    Image observations missing from the npz (datasets written with ``store_images=False``) are
    decoded from the episode's mp4.
    """
    root = Path(root)
    meta = load_meta(root) if meta is None else meta
    entries = meta["episodes"]
    if not 0 <= index < len(entries):
        raise IndexError(f"{root} has {len(entries)} episodes; episode {index} does not exist")
    entry = entries[index]
    path = root / entry["file"]
    keys = list(obs_keys) if obs_keys is not None else list(meta["obs_spec"])
    # Only datasets written with store_images=False keep rgb solely in video.
    from_video = (
        set()
        if meta.get("store_images", True)
        else {k for k in keys if k.startswith("rgb/") and k[4:] in entry["videos"]}
    )
    unknown = [k for k in keys if k not in meta["obs_spec"]]
    if unknown:
        raise KeyError(f"{root} has no observation keys {unknown}; it has {sorted(meta['obs_spec'])}")
    base = ["actions", "rewards", "successes", "terminated", "truncated", "seed", "info_json"]
    optional = [
        k
        for k, flag in (("sim_states", "has_sim_states"), ("expert_actions", "has_expert_actions"))
        if entry.get(flag)
    ]
    arrays = load_npz(path, keys=[*base, *optional, *(f"obs/{k}" for k in keys if k not in from_video)])
    for k in from_video:
        arrays[f"obs/{k}"] = read_video(root / entry["videos"][k[4:]])  # (T+1, H, W, 3), lossy
    return Episode.from_arrays(arrays)


def iter_episodes(root: PathLike, obs_keys: Sequence[str] | None = None) -> Iterator[Episode]:
    """Yield every episode in index order."""
    meta = load_meta(root)
    for i in range(len(meta["episodes"])):
        yield load_episode(root, i, obs_keys=obs_keys, meta=meta)


def dataset_stats(root: PathLike) -> Stats:
    """Statistics from meta.json, or computed from the episode files if meta has none."""
    meta = load_meta(root)
    if meta.get("stats") or not meta["episodes"]:
        return dict(meta.get("stats") or {})
    return compute_stats(iter_episodes(root, obs_keys=_low_dim_keys(meta["obs_spec"])))
