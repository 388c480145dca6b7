"""LeRobot v3.0 export: the written layout and values against LeRobot's documented schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import workbench
from workbench.data import iter_episodes
from workbench.video import read_video

INFO_KEYS = {
    "codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks", "chunks_size",
    "data_files_size_in_mb", "video_files_size_in_mb", "fps", "splits", "data_path", "video_path",
    "features",
}
DEFAULT_FEATURES = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
EPISODE_COLUMNS = {
    "episode_index", "tasks", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
    "dataset_to_index", "meta/episodes/chunk_index", "meta/episodes/file_index",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("export")
    src, out = root / "src", root / "lerobot"
    workbench("collect", "env=wb/Reach-mujoco-v0", "env.obs_mode=rgb+proprio+state", "env.width=32",
              "env.height=32", "episodes=3", "num_envs=1", f"out={src}")
    workbench("export", f"dataset={src}", "format=lerobot", f"out={out}", "task=reach the green target")
    return src, out


def test_layout_and_info(exported: tuple[Path, Path]) -> None:
    src, out = exported
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info.keys() >= INFO_KEYS and info["codebase_version"] == "v3.0"
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    episodes = list(iter_episodes(src))
    assert info["total_episodes"] == 3 and info["total_frames"] == sum(ep.length for ep in episodes)
    assert info["splits"] == {"train": "0:3"}
    features = info["features"]
    assert features.keys() >= DEFAULT_FEATURES
    assert features["observation.state"] == {"dtype": "float32", "shape": [10], "names": None}
    assert features["action"]["shape"] == [4]
    assert features["observation.images.front"]["dtype"] == "video"
    assert features["observation.images.front"]["shape"] == [32, 32, 3]
    for path in (
        "meta/stats.json", "meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet", "videos/observation.images.front/chunk-000/file-000.mp4",
    ):
        assert (out / path).is_file(), path
    assert not any(p.name.startswith(".") for p in out.parent.iterdir()), "staging dir left behind"


def test_frames_match_the_source(exported: tuple[Path, Path]) -> None:
    src, out = exported
    data = pq.read_table(out / "data" / "chunk-000" / "file-000.parquet").to_pydict()
    episodes = list(iter_episodes(src))
    actions = np.concatenate([ep.actions for ep in episodes])
    np.testing.assert_allclose(np.asarray(data["action"]), actions)
    states = np.concatenate([ep.obs["state"][:-1] for ep in episodes])  # the final obs has no action
    np.testing.assert_allclose(np.asarray(data["observation.state"]), states)
    assert data["index"] == list(range(len(actions)))
    assert data["frame_index"][: episodes[0].length] == list(range(episodes[0].length))
    assert sum(data["next.done"]) == 3

    rows = pq.read_table(out / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    assert rows[0].keys() >= EPISODE_COLUMNS
    assert [r["length"] for r in rows] == [ep.length for ep in episodes]
    assert rows[1]["dataset_from_index"] == rows[0]["dataset_to_index"] == episodes[0].length
    assert rows[0]["tasks"] == ["reach the green target"]
    video = read_video(out / "videos" / "observation.images.front" / "chunk-000" / "file-000.mp4")
    assert len(video) == len(actions)
    assert rows[-1]["videos/observation.images.front/to_timestamp"] == pytest.approx(len(actions) / 20)


def test_stats_and_tasks(exported: tuple[Path, Path]) -> None:
    src, out = exported
    stats = json.loads((out / "meta" / "stats.json").read_text())
    actions = np.concatenate([ep.actions for ep in iter_episodes(src)])
    np.testing.assert_allclose(stats["action"]["mean"], actions.mean(0), rtol=1e-5, atol=1e-6)
    assert stats["action"]["count"] == [len(actions)]
    assert np.asarray(stats["observation.images.front"]["mean"]).shape == (3, 1, 1)
    tasks = pq.read_table(out / "meta" / "tasks.parquet")
    pandas_meta = json.loads(tasks.schema.metadata[b"pandas"])
    assert pandas_meta["index_columns"] == ["task"]  # pandas restores the task string as the index
    assert tasks.to_pylist() == [{"task_index": 0, "task": "reach the green target"}]


def test_refuses_non_empty_out(exported: tuple[Path, Path]) -> None:
    src, out = exported
    proc = workbench("export", f"dataset={src}", f"out={out}", check=False)
    assert proc.returncode == 2 and "not empty" in proc.stderr
