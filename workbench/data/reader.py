"""Reading a dataset: meta.json (validated, versioned), episodes, statistics, seeds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from foundation.files import sha256_file
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
    check_meta(meta, path)
    return meta


# The fields every reader relies on, with their JSON types: a meta.json edited by hand (or by another
# tool) fails here naming the field, not later as a confusing error about an agent's obs_keys.
META_FIELDS: dict[str, type | tuple[type, ...]] = {
    "env_id": str,
    "env_kwargs": dict,
    "obs_spec": dict,
    "action_spec": dict,
    "fps": int,
    "cameras": list,
    "episodes": list,
    "stats": dict,
}
ENTRY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "file": str,
    "length": int,
    "videos": dict,
    "success": bool,
    "seed": (int, type(None)),
}


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        "str": "a string",
        "dict": "an object",
        "int": "an integer",
        "list": "a list",
        "bool": "true/false",
        "NoneType": "null",
    }
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # JSON true/false are Python bools, which are also ints: an integer field must not take them.
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """Refuse a meta.json whose fields have the wrong JSON types, naming the file and the field."""

    def bad(field: str, value: Any, kind: type | tuple[type, ...]) -> CorruptFileError:
        return CorruptFileError(
            f"{path}: field {field} is {type(value).__name__} {str(value)[:40]!r}, "
            f"expected {_type_name(kind)}; "
            "the file was edited or written by another tool: re-collect the dataset"
        )

    for field, kind in META_FIELDS.items():
        if field not in meta:
            raise CorruptFileError(f"{path} has no field {field!r}; re-collect the dataset")
        if not _is(meta[field], kind):
            raise bad(field, meta[field], kind)
    for key, spec in meta["obs_spec"].items():
        if not isinstance(spec, dict) or not _is(spec.get("shape", []), list):
            raise bad(f"obs_spec.{key}", spec, dict)
    for i, entry in enumerate(meta["episodes"]):
        if not isinstance(entry, dict):
            raise bad(f"episodes[{i}]", entry, dict)
        for field, kind in ENTRY_FIELDS.items():
            if not _is(entry.get(field), kind):
                raise bad(f"episodes[{i}].{field}", entry.get(field), kind)
        if Path(entry["file"]).is_absolute() or ".." in Path(entry["file"]).parts:
            raise CorruptFileError(f"{path}: episodes[{i}].file {entry['file']!r} points outside the dataset")


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
        raise ValueError(
            f"dataset {root} has no observation keys {unknown}; it has {sorted(meta['obs_spec'])}"
        )
    digest = entry.get("sha256")
    if digest is not None and path.is_file() and sha256_file(path) != digest:
        raise CorruptFileError(
            f"{path} is corrupt: its sha256 does not match the one {root / 'meta.json'} recorded "
            "when it was written"
        )
    base = ["actions", "rewards", "successes", "terminated", "truncated", "seed", "info_json"]
    optional = [
        k
        for k, flag in (
            ("sim_states", "has_sim_states"),
            ("expert_actions", "has_expert_actions"),
            ("applied_actions", "has_applied_actions"),  # absent from older meta.json: None
        )
        if entry.get(flag)
    ]
    try:
        arrays = load_npz(path, keys=[*base, *optional, *(f"obs/{k}" for k in keys if k not in from_video)])
    except KeyError as exc:  # meta.json promises arrays the file does not hold
        raise CorruptFileError(f"{exc.args[0]}; the episode file is damaged or foreign: re-collect") from exc
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
