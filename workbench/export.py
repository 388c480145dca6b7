"""Export a workbench dataset to the LeRobot dataset layout, v3.0, so LeRobot can train on it.

Layout written (LeRobot ``CODEBASE_VERSION = "v3.0"``; every episode in one file per kind, which is
what LeRobot itself writes until a file passes its size limit):

    meta/info.json                                   schema, fps, path templates, totals
    meta/stats.json                                  per-feature min/max/mean/std/count + quantiles
    meta/tasks.parquet                               task string (index) -> task_index
    meta/episodes/chunk-000/file-000.parquet         one row per episode: length, tasks, offsets,
                                                     video timestamps, per-episode stats
    data/chunk-000/file-000.parquet                  one row per frame
    videos/observation.images.<cam>/chunk-000/file-000.mp4   all episodes' frames back to back

Frames pair the observation at step t with the action taken at t; the workbench's final
observation (after the last action) has no action and is not exported.

Observations are split the way LeRobot's policies read them (``lerobot.datasets.utils.
dataset_to_policy_features``): ``observation.state`` is the robot's own state (FeatureType.STATE),
``observation.environment_state`` the scene (FeatureType.ENV), as in LeRobot's state-based PushT
(agent position / T keypoints). Diffusion Policy and ACT refuse inputs with neither an image nor an
environment state, so a state-only export needs the split to train at all:

    observation.state              ``proprio`` (joint positions and velocities, ee pose, gripper) when
                                   the dataset recorded it, else the robot's entries of the task
                                   ``state`` (ee position [, yaw], gripper: ``ROBOT_STATE_NAMES``)
    observation.environment_state  the rest of the task ``state``: object and target poses, goal,
                                   and the task's relative vectors (e.g. cube - ee), so the two
                                   together carry everything a workbench ``state`` policy sees
    observation.images.<camera>    ``rgb/<camera>`` as video
    action, next.reward, next.done, next.success

The split of the task state comes from the task's ``state_names`` (``envs.tasks``), which also name
the entries in ``info.json``; a dataset of an env without a task layout exports its ``state`` as
``observation.state`` (or as the environment state beside ``proprio``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data import iter_episodes, load_meta
from workbench.io import atomic_write_json
from workbench.video import write_video

CODEBASE_VERSION = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
STATE, ENV_STATE = "observation.state", "observation.environment_state"  # LeRobot's OBS_STATE, OBS_ENV_STATE
# LeRobot's stats since 0.4 carry these quantiles beside min/max/mean/std (``DEFAULT_QUANTILES``).
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
# The robot's own entries of a task state (``envs.tasks.*.state_names``); everything else is scene.
ROBOT_STATE_NAMES = ("ee_x", "ee_y", "ee_z", "ee_yaw", "gripper")
# ``proprio`` (envs/panda_base.py, ``scene_spec.PROPRIO_DIM``): joints, ee pose, gripper opening.
PROPRIO_NAMES = (
    *(f"joint_pos_{i}" for i in range(7)), *(f"joint_vel_{i}" for i in range(7)),
    "ee_x", "ee_y", "ee_z", "ee_yaw", "gripper",
)  # fmt: skip
# Action entries per controller (envs/controllers.py).
ACTION_NAMES = {
    "ee_delta": ("ee_dx", "ee_dy", "ee_dz", "gripper"),
    "ee_delta_yaw": ("ee_dx", "ee_dy", "ee_dz", "ee_dyaw", "gripper"),
    "joint_pos": (*(f"joint_pos_{i}" for i in range(7)), "gripper"),
    "joint_vel": (*(f"joint_vel_{i}" for i in range(7)), "gripper"),
    "discrete": ("index",),
}


@dataclass(frozen=True)
class Column:
    """One exported observation feature: entries ``index`` (None: all) of workbench key ``key``."""

    feature: str
    key: str
    index: tuple[int, ...] | None = None
    names: tuple[str, ...] | None = None

    def take(self, values: np.ndarray) -> np.ndarray:
        return values if self.index is None else values[:, list(self.index)]


def _task(env_id: str) -> Any | None:
    """The ``envs.tasks`` task of a workbench task env id, None for other envs (e.g. CartPole)."""
    import envs  # registers ids only: no simulator import

    try:
        return envs.tasks.get_task(envs.task_of(env_id))
    except ValueError:
        return None


def observation_columns(meta: Mapping[str, Any]) -> list[Column]:
    """How the dataset's observations become LeRobot features (see the module docstring)."""
    spec = meta["obs_spec"]
    task = _task(meta["env_id"])
    state_dim = spec["state"]["shape"][0] if "state" in spec and len(spec["state"]["shape"]) == 1 else None
    names = tuple(task.state_names) if task is not None else ()
    if state_dim is not None and names and len(names) != state_dim:
        raise ValueError(
            f"{meta['env_id']}'s task state has {len(names)} entries ({', '.join(names[:4])}, ...) but the "
            f"dataset's state has {state_dim}: it was recorded by another version of the task; re-collect it"
        )
    robot = tuple(i for i, n in enumerate(names) if n in ROBOT_STATE_NAMES)
    scene = tuple(i for i, n in enumerate(names) if n not in ROBOT_STATE_NAMES)
    columns: list[Column] = []
    if "proprio" in spec:
        proprio_names = PROPRIO_NAMES if spec["proprio"]["shape"] == [len(PROPRIO_NAMES)] else None
        columns.append(Column(STATE, "proprio", None, proprio_names))
    elif state_dim is not None and robot:
        columns.append(Column(STATE, "state", robot, tuple(names[i] for i in robot)))
    elif state_dim is not None:
        columns.append(Column(STATE, "state"))  # no known layout: all of it is "the state"
    if state_dim is not None and names and scene:
        columns.append(Column(ENV_STATE, "state", scene, tuple(names[i] for i in scene)))
    elif state_dim is not None and not names and "proprio" in spec:
        columns.append(Column(ENV_STATE, "state"))  # beside proprio, the privileged state is the scene's
    columns += [Column(f"observation.images.{k[4:]}", k) for k in spec if k.startswith("rgb/")]
    return columns


def action_names(meta: Mapping[str, Any]) -> tuple[str, ...] | None:
    task = _task(meta["env_id"])
    controller = meta.get("env_kwargs", {}).get("controller") or getattr(task, "default_controller", None)
    names = ACTION_NAMES.get(str(controller))
    shape = meta["action_spec"].get("shape") or [1]
    return names if names is not None and [len(names)] == list(shape) else None


def _stats(x: np.ndarray) -> dict[str, Any]:
    """(N, ...) -> LeRobot stats over the first axis (images: per channel, shape (3, 1, 1), in [0, 1])."""
    if x.ndim == 4:  # (N, H, W, 3) uint8 -> per-channel stats of the [0, 1] image, as LeRobot stores
        flat = x.reshape(-1, 3)
        counts = np.stack([np.bincount(flat[:, c], minlength=256) for c in range(3)])  # (3, 256)
        levels = np.arange(256) / 255.0  # (256,)
        n = counts.sum(1, keepdims=True)  # (3, 1)
        mean = (counts * levels).sum(1) / n[:, 0]  # (3,)
        var = (counts * (levels - mean[:, None]) ** 2).sum(1) / n[:, 0]
        cdf = np.cumsum(counts, 1) / n  # (3, 256)
        present = counts > 0
        reduce = lambda a: np.asarray(a, dtype=np.float64).reshape(3, 1, 1).tolist()  # noqa: E731
        stats: dict[str, Any] = {
            "min": reduce([levels[p].min() for p in present]),
            "max": reduce([levels[p].max() for p in present]),
            "mean": reduce(mean),
            "std": reduce(np.sqrt(var)),
            "count": [len(x)],
        }
        for key, q in QUANTILES.items():  # the first level whose cumulative share reaches q
            stats[key] = reduce(levels[np.argmax(cdf >= q - 1e-12, axis=1)])
        return stats
    x64 = x.astype(np.float64).reshape(len(x), -1)
    stats = {
        "min": x64.min(0).tolist(),
        "max": x64.max(0).tolist(),
        "mean": x64.mean(0).tolist(),
        "std": x64.std(0).tolist(),
        "count": [len(x)],
    }
    for key, q in QUANTILES.items():
        stats[key] = np.quantile(x64, q, axis=0).tolist()
    return stats


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
    obs_columns = observation_columns(meta)
    obs_keys = sorted({c.key for c in obs_columns})

    columns: dict[str, list[Any]] = {}
    feature_of = {c.key: c.feature for c in obs_columns if c.key.startswith("rgb/")}  # camera key -> name
    frames_per_camera: dict[str, list[np.ndarray]] = {key: [] for key in feature_of}
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
        for column in obs_columns:
            values = ep.obs[column.key][:T]  # drop the final observation: it has no action
            if column.key.startswith("rgb/"):
                frames_per_camera[column.key].append(values)
            else:
                per_frame[column.feature] = column.take(values).astype(np.float32)  # (T, D)
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
            name = feature_of[key]
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

    names: dict[str, Any] = {c.feature: c.names for c in obs_columns} | {"action": action_names(meta)}
    features: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for name, parts in all_values.items():
        values = np.concatenate(parts)
        dtype = "bool" if values.dtype == np.bool_ else str(values.dtype)
        shape = [1] if values.ndim == 1 else list(values.shape[1:])
        entry_names = None if names.get(name) is None else list(names[name])
        features[name] = {"dtype": dtype, "shape": shape, "names": entry_names}
        if name not in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            stats[name] = _stats(values.reshape(len(values), -1))
    for key, clips in frames_per_camera.items():
        name = feature_of[key]
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
