"""Writing a dataset: episodes added one at a time, the directory valid after every ``add``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from foundation.files import clean_stale_temp, sha256_file
from workbench.data.episode import FORMAT, VERSION, Episode, PathLike, low_dim_keys
from workbench.data.reader import iter_episodes, load_meta
from workbench.data.stats import RunningStats
from workbench.io import atomic_save_npz, atomic_write_json
from workbench.lock import LOCK_NAME, DirectoryLock
from workbench.video import write_video


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
        self._stats = RunningStats()
        self._closed = False
        self._added = 0
        self._was_complete = False
        if self.root.exists() and not self.root.is_dir():
            raise FileExistsError(f"{self.root} is a file, not a dataset directory; choose a new directory")
        self._created_root = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        # One writer at a time; taken before looking at the contents, which another writer may change.
        self._lock: DirectoryLock | None = DirectoryLock(self.root, "dataset")
        try:
            self._open(append)
        except BaseException:
            self._release()
            if self._created_root:  # leave nothing behind that would block a retry
                with contextlib.suppress(OSError):
                    (self.root / LOCK_NAME).unlink(missing_ok=True)
                    self.root.rmdir()
            raise

    def _open(self, append: bool) -> None:
        clean_stale_temp(self.root)  # orphans of a killed writer
        if _holds_data(self.root):
            if not (self.root / "meta.json").is_file():
                raise FileExistsError(
                    f"{self.root} is not empty and is not a workbench dataset (no meta.json); "
                    "choose a new or empty directory"
                )
            existing = load_meta(self.root)
            if not append:
                raise FileExistsError(
                    f"{self.root} already holds a dataset with {existing['num_episodes']} episodes; "
                    "pass append=true to add episodes to it, or choose a new directory"
                )
            self._check_compatible(existing)
            self.meta["episodes"] = existing["episodes"]
            self.meta["num_episodes"] = len(existing["episodes"])
            self.meta["num_steps"] = sum(e["length"] for e in existing["episodes"])
            # Rebuild stats from the files rather than trusting meta: a killed writer may have left
            # stats that lag behind its episode list.
            for ep in iter_episodes(self.root, obs_keys=low_dim_keys(existing["obs_spec"])):
                self._stats.add_episode(ep)
            self.meta["stats"] = self._stats.to_json()
            self._was_complete = bool(existing.get("complete"))
            return  # meta.json is rewritten by the first add: a refused or empty append changes nothing
        (self.root / "episodes").mkdir(parents=True, exist_ok=True)
        self._write_meta()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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

    @property
    def seeds(self) -> list[int]:
        """The env seeds of the episodes already in the dataset (appending continues after them)."""
        return [int(e["seed"]) for e in self.meta["episodes"] if e.get("seed") is not None]

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
        digest = sha256_file(npz)  # meta.json records it: a flipped byte is caught when the episode is read
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
                "has_applied_actions": episode.applied_actions is not None,
                "sha256": digest,
            }
        )
        self._added += 1
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
        if self._added or not self._was_complete:  # an append that added nothing leaves meta as it was
            self.meta["stats"] = self._stats.to_json()
            self.meta["complete"] = True
            self._write_meta()
        self._closed = True
        self._release()

    def abort(self) -> None:
        """Stop after a failure: the episodes written so far stay (``complete`` stays false); a
        dataset this writer started that has no episode is removed, so a retry is not refused."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.num_episodes == 0 and not _holds_episodes(self.root):
                (self.root / "meta.json").unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    (self.root / "episodes").rmdir()
                    if self._created_root:
                        (self.root / LOCK_NAME).unlink(missing_ok=True)
                        self.root.rmdir()
        finally:
            self._release()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _holds_data(root: Path) -> bool:
    """Anything but the lock file and an empty episodes/ folder (a collection that wrote nothing)."""
    for entry in root.iterdir():
        if entry.name == LOCK_NAME or (
            entry.name == "episodes" and entry.is_dir() and not any(entry.iterdir())
        ):
            continue
        if entry.name == "meta.json" and _empty_unfinished(root):
            continue
        return True
    return False


def _empty_unfinished(root: Path) -> bool:
    try:
        meta = load_meta(root)
    except (ValueError, FileNotFoundError):
        return False
    return not meta["episodes"] and not meta.get("complete") and not _holds_episodes(root)


def _holds_episodes(root: Path) -> bool:
    folder = root / "episodes"
    return folder.is_dir() and any(folder.iterdir())
