"""LeRobot v3.0 export: the written layout and values against LeRobot's documented schema.

LeRobot itself (0.4.4 pins torch < 2.11) is not a dependency; docs/lerobot.md shows how to check an
export with it in a separate venv. ``policy_features`` below restates the part of LeRobot that
decides whether its policies accept an export.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import workbench
from workbench.data import iter_episodes
from workbench.export import PROPRIO_NAMES, observation_columns
from workbench.video import read_video

INFO_KEYS = {
    "codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks", "chunks_size",
    "data_files_size_in_mb", "video_files_size_in_mb", "fps", "splits", "data_path", "video_path",
    "features",
}
DEFAULT_FEATURES = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
STATS_KEYS = {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
REACH_SCENE = [
    "target_x", "target_y", "target_z", "target_minus_ee_x", "target_minus_ee_y", "target_minus_ee_z",
]
EPISODE_COLUMNS = {
    "episode_index", "tasks", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
    "dataset_to_index", "meta/episodes/chunk_index", "meta/episodes/file_index",
}


def policy_features(features: dict[str, dict]) -> dict[str, str]:
    """LeRobot 0.4.4's ``dataset_to_policy_features`` (feature name -> FeatureType), and the check
    DiffusionConfig/ACTConfig.validate_features make: an image or the environment state is required."""
    types = {}
    for key, ft in features.items():
        if ft["dtype"] in ("image", "video"):
            assert len(ft["shape"]) == 3 and ft["names"][2] in ("channel", "channels"), key
            types[key] = "VISUAL"
        elif key == "observation.environment_state":
            types[key] = "ENV"
        elif key.startswith("observation"):
            types[key] = "STATE"
        elif key.startswith("action"):
            types[key] = "ACTION"
    assert "VISUAL" in types.values() or "ENV" in types.values(), "LeRobot's diffusion/ACT would refuse it"
    return types


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
    # The robot's own state (proprio) and the scene part of the task state, named entry by entry.
    vector = lambda n, names: {"dtype": "float32", "shape": [n], "names": names}  # noqa: E731
    assert features["observation.state"] == vector(19, list(PROPRIO_NAMES))
    assert features["observation.environment_state"] == vector(6, REACH_SCENE)
    assert features["action"] == vector(4, ["ee_dx", "ee_dy", "ee_dz", "gripper"])
    assert policy_features(features) == {
        "observation.state": "STATE", "observation.environment_state": "ENV",
        "observation.images.front": "VISUAL", "action": "ACTION",
    }  # fmt: skip
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
    proprio = np.concatenate([ep.obs["proprio"][:-1] for ep in episodes])  # the final obs has no action
    np.testing.assert_allclose(np.asarray(data["observation.state"]), proprio)
    states = np.concatenate([ep.obs["state"][:-1] for ep in episodes])  # (N, 10): ee, gripper, scene
    np.testing.assert_allclose(np.asarray(data["observation.environment_state"]), states[:, 4:])
    schema = pq.read_schema(out / "data" / "chunk-000" / "file-000.parquet")
    column = schema.field("observation.environment_state").type  # what LeRobot's Sequence(length=6) reads
    assert pa.types.is_fixed_size_list(column) and column.list_size == 6 and column.value_type == pa.float32()
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
    np.testing.assert_allclose(stats["action"]["q50"], np.median(actions, axis=0), rtol=1e-5, atol=1e-6)
    states = np.concatenate([ep.obs["state"][:-1] for ep in iter_episodes(src)])[:, 4:]
    np.testing.assert_allclose(stats["observation.environment_state"]["min"], states.min(0), rtol=1e-6)
    for name in ("action", "observation.state", "observation.environment_state", "observation.images.front"):
        assert stats[name].keys() == STATS_KEYS, name
    image = stats["observation.images.front"]
    assert all(np.asarray(image[k]).shape == (3, 1, 1) for k in STATS_KEYS - {"count"})
    frames = np.concatenate([ep.obs["rgb/front"][:-1] for ep in iter_episodes(src)]).reshape(-1, 3) / 255
    np.testing.assert_allclose(np.ravel(image["mean"]), frames.mean(0), rtol=1e-6)
    np.testing.assert_allclose(np.ravel(image["std"]), frames.std(0), rtol=1e-6)
    assert np.all(np.ravel(image["q01"]) <= np.ravel(image["q50"]))
    assert np.all(np.ravel(image["q50"]) <= np.ravel(image["q99"]))
    tasks = pq.read_table(out / "meta" / "tasks.parquet")
    pandas_meta = json.loads(tasks.schema.metadata[b"pandas"])
    assert pandas_meta["index_columns"] == ["task"]  # pandas restores the task string as the index
    assert tasks.to_pylist() == [{"task_index": 0, "task": "reach the green target"}]


def test_refuses_non_empty_out(exported: tuple[Path, Path]) -> None:
    src, out = exported
    proc = workbench("export", f"dataset={src}", f"out={out}", check=False)
    assert proc.returncode == 2 and "not empty" in proc.stderr


def test_state_split_without_proprio_and_for_envs_without_a_task_layout() -> None:
    # Without proprio the robot's entries of the task state are observation.state (PushT: ee pose
    # with yaw, gripper); the rest is the environment state.
    meta = {"env_id": "wb/PushT-mujoco-v0", "obs_spec": {"state": {"shape": [18], "dtype": "float32"}}}
    state, env = observation_columns(meta)
    assert (state.feature, state.key, state.index) == ("observation.state", "state", (0, 1, 2, 3, 4))
    assert state.names == ("ee_x", "ee_y", "ee_z", "ee_yaw", "gripper")
    assert env.feature == "observation.environment_state" and env.index == tuple(range(5, 18))
    assert env.names is not None and env.names[:2] == ("tee_x", "tee_y")
    # Every entry goes to exactly one of the two.
    assert sorted((state.index or ()) + (env.index or ())) == list(range(18))
    # An env without a task layout (gymnasium's CartPole) keeps its state whole.
    (whole,) = observation_columns({"env_id": "wb/CartPole-v1", "obs_spec": {"state": {"shape": [4]}}})
    assert (whole.feature, whole.index) == ("observation.state", None)
    with pytest.raises(ValueError, match="re-collect"):  # a layout that does not fit the recorded state
        observation_columns({"env_id": "wb/Push-mujoco-v0", "obs_spec": {"state": {"shape": [10]}}})
