"""Reading a dataset: meta.json (validated, versioned), episodes, statistics, seeds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.data.episode import FORMAT, VERSION, Episode, PathLike, Stats, low_dim_keys
from workbench.data.stats import compute_stats
from workbench.io import CorruptFileError, load_json, load_npz
from workbench.video import read_video


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
    return compute_stats(iter_episodes(root, obs_keys=low_dim_keys(meta["obs_spec"])))


def episode_seeds(root: PathLike) -> list[int]:
    """The env seeds of a dataset's episodes (those recorded with one), from meta.json."""
    meta = load_meta(root)
    return [int(e["seed"]) for e in meta["episodes"] if e.get("seed") is not None]
