"""Export a workbench dataset to the LeRobot dataset layout, v3.0, so LeRobot can train on it.

Layout written (LeRobot ``CODEBASE_VERSION = "v3.0"``; every episode in one file per kind, which is
what LeRobot itself writes until a file passes its size limit):

    meta/info.json                                   schema, fps, path templates, totals
    meta/stats.json                                  per-feature min/max/mean/std/count
    meta/tasks.parquet                               task string (index) -> task_index
    meta/episodes/chunk-000/file-000.parquet         one row per episode: length, tasks, offsets,
                                                     video timestamps, per-episode stats
    data/chunk-000/file-000.parquet                  one row per frame
    videos/observation.images.<cam>/chunk-000/file-000.mp4   all episodes' frames back to back

Frames pair the observation at step t with the action taken at t; the workbench's final
observation (after the last action) has no action and is not exported. Feature names follow
LeRobot: ``observation.state`` (the task state), ``observation.environment_state`` is not used,
``observation.proprio`` for proprioception, ``observation.images.<camera>`` for rgb, ``action``,
``next.reward``, ``next.done``, ``next.success``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from workbench.episodes import iter_episodes, load_meta
from workbench.io import atomic_write_json
from workbench.video import write_video

CODEBASE_VERSION = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"


def feature_name(obs_key: str) -> str:
    """Workbench observation key -> LeRobot feature name."""
    if obs_key.startswith("rgb/"):
        return f"observation.images.{obs_key[4:]}"
    if obs_key == "state":
        return "observation.state"
    return "observation." + obs_key.replace("/", ".")


def _stats(x: np.ndarray) -> dict[str, Any]:
    """(N, ...) -> LeRobot stats over the first axis (images: per channel, shape (3, 1, 1), in [0, 1])."""
    if x.ndim == 4:  # (N, H, W, 3) uint8 -> per-channel stats of the [0, 1] image, as LeRobot stores
        flat = x.reshape(-1, 3).astype(np.float64) / 255.0
        reduce = lambda a: a.reshape(3, 1, 1).tolist()  # noqa: E731
        return {
            "min": reduce(flat.min(0)),
            "max": reduce(flat.max(0)),
            "mean": reduce(flat.mean(0)),
            "std": reduce(flat.std(0)),
            "count": [len(x)],
        }
    x64 = x.astype(np.float64).reshape(len(x), -1)
    return {
        "min": x64.min(0).tolist(),
        "max": x64.max(0).tolist(),
        "mean": x64.mean(0).tolist(),
        "std": x64.std(0).tolist(),
        "count": [len(x)],
    }


def _pandas_index_metadata(index: str, columns: list[tuple[str, str]]) -> bytes:
    """The schema metadata pandas writes, so ``pd.read_parquet`` restores ``index`` as the index.

    LeRobot reads ``meta/tasks.parquet`` with pandas and looks tasks up by index label; writing the
    metadata by hand keeps pandas out of the workbench's dependencies.
    """
    meta = {
        "index_columns": [index],
        "column_indexes": [
            {"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
             "metadata": {"encoding": "UTF-8"}}
        ],
        "columns": [
            {"name": name, "field_name": name, "pandas_type": pandas_type, "numpy_type": numpy_type,
             "metadata": None}
            for name, pandas_type, numpy_type in [
                *((n, "int64", "int64") for n, _ in columns),
                (index, "unicode", "object"),
            ]
        ],
        "creator": {"library": "pyarrow", "version": "workbench"},
        "pandas_version": "2.2.3",
    }
    return json.dumps(meta).encode()


def export_lerobot(
    src: Path, out: Path, task: str | None = None, robot_type: str = "franka_panda"
) -> dict[str, Any]:
    """Write ``src`` (a workbench dataset) to ``out`` in the LeRobot v3.0 layout; returns info.json."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = load_meta(src)
    if not meta["episodes"]:
        raise ValueError(f"dataset {src} has no episodes to export")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"out={out} exists and is not empty; choose a new directory")
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    fps = int(meta.get("fps", 20))
    task = task or meta.get("task") or meta["env_id"]
    obs_keys = [k for k in meta["obs_spec"] if k.startswith("rgb/") or len(meta["obs_spec"][k]["shape"]) == 1]

    columns: dict[str, list[Any]] = {}
    frames_per_camera: dict[str, list[np.ndarray]] = {k: [] for k in obs_keys if k.startswith("rgb/")}
    episode_rows: list[dict[str, Any]] = []
    all_values: dict[str, list[np.ndarray]] = {}
    index = 0
    video_time = 0.0
    for ep_index, ep in enumerate(iter_episodes(src, obs_keys=obs_keys)):
        T = ep.length
        per_frame: dict[str, np.ndarray] = {
            "action": ep.actions.astype(np.float32),  # (T, A)
            "timestamp": (np.arange(T) / fps).astype(np.float32),
            "frame_index": np.arange(T, dtype=np.int64),
            "episode_index": np.full(T, ep_index, dtype=np.int64),
            "index": np.arange(index, index + T, dtype=np.int64),
            "task_index": np.zeros(T, dtype=np.int64),
            "next.reward": ep.rewards.astype(np.float32),
            "next.done": np.arange(T) == T - 1,
            "next.success": np.asarray(ep.successes, dtype=bool),
        }
        for key in obs_keys:
            values = ep.obs[key][:T]  # drop the final observation: it has no action
            if key.startswith("rgb/"):
                frames_per_camera[key].append(values)
            else:
                per_frame[feature_name(key)] = values.astype(np.float32)
        row: dict[str, Any] = {
            "episode_index": ep_index,
            "tasks": [task],
            "length": T,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": index,
            "dataset_to_index": index + T,
        }
        for key in frames_per_camera:
            name = feature_name(key)
            row[f"videos/{name}/chunk_index"] = 0
            row[f"videos/{name}/file_index"] = 0
            row[f"videos/{name}/from_timestamp"] = video_time
            row[f"videos/{name}/to_timestamp"] = video_time + T / fps
            per_ep = _stats(ep.obs[key][:T])
            for stat, value in per_ep.items():
                row[f"stats/{name}/{stat}"] = value
        for name, values in per_frame.items():
            columns.setdefault(name, []).append(values)
            all_values.setdefault(name, []).append(values)
            for stat, value in _stats(values.reshape(T, -1)).items():
                row[f"stats/{name}/{stat}"] = value
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        episode_rows.append(row)
        index += T
        video_time += T / fps

    # Frame table: vectors as fixed-size lists, scalars as plain columns (LeRobot's HF features).
    arrays: dict[str, Any] = {}
    for name, parts in columns.items():
        values = np.concatenate(parts)
        if values.ndim == 1:
            arrays[name] = pa.array(values)
        else:
            flat = pa.array(values.reshape(-1))
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    data_path = staging / DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True)
    pq.write_table(pa.table(arrays), data_path)

    episodes_path = staging / EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), episodes_path)

    tasks_table = pa.table({"task_index": pa.array([0], pa.int64()), "task": pa.array([task])})
    tasks_table = tasks_table.replace_schema_metadata(
        {b"pandas": _pandas_index_metadata("task", [("task_index", "int64")])}
    )
    pq.write_table(tasks_table, staging / "meta" / "tasks.parquet")

    features: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for name, parts in all_values.items():
        values = np.concatenate(parts)
        dtype = "bool" if values.dtype == np.bool_ else str(values.dtype)
        shape = [1] if values.ndim == 1 else list(values.shape[1:])
        features[name] = {"dtype": dtype, "shape": shape, "names": None}
        if name not in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            stats[name] = _stats(values.reshape(len(values), -1))
    for key, clips in frames_per_camera.items():
        name = feature_name(key)
        video = np.concatenate(clips)  # (N, H, W, 3)
        write_video(staging / VIDEO_PATH.format(video_key=name, chunk_index=0, file_index=0), video, fps)
        height, width = video.shape[1:3]
        features[name] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": height,
                "video.width": width,
                "video.codec": "h264",
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        }
        stats[name] = _stats(video)
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(episode_rows),
        "total_frames": index,
        "total_tasks": 1,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": {"train": f"0:{len(episode_rows)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if frames_per_camera else None,
        "features": features,
    }
    atomic_write_json(staging / "meta" / "info.json", info)
    atomic_write_json(staging / "meta" / "stats.json", stats)
    if out.exists():
        out.rmdir()  # empty (checked above)
    staging.rename(out)
    return info
