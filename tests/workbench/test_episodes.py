"""The dataset directory format: round trip, meta, stats, crash safety, errors."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from workbench.data import (
    FORMAT,
    VERSION,
    DatasetWriter,
    Episode,
    dataset_stats,
    episode_path,
    iter_episodes,
    load_episode,
    load_meta,
    spec_from_space,
    video_path,
)
from workbench.io import CorruptFileError

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}, "rgb/front": {"shape": [8, 8, 3], "dtype": "uint8"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1.0, -1.0], "high": [1.0, 1.0]}


def make_episode(t: int, seed: int, expert: bool = False) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        obs={
            "state": rng.normal(size=(t + 1, 3)).astype(np.float32),  # (T+1, 3)
            "rgb/front": rng.integers(0, 255, size=(t + 1, 8, 8, 3), dtype=np.uint8),  # (T+1, 8, 8, 3)
        },
        actions=rng.uniform(-1, 1, size=(t, 2)).astype(np.float32),  # (T, 2)
        rewards=rng.normal(size=t).astype(np.float32),
        successes=np.arange(t) == t - 1,
        terminated=True,
        sim_states=rng.normal(size=(t + 1, 5)),
        expert_actions=rng.uniform(-1, 1, size=(t, 2)).astype(np.float32) if expert else None,
        seed=seed,
        info={"note": f"ep{seed}"},
    )


def make_writer(root: Path, append: bool = False, store_images: bool = True) -> DatasetWriter:
    return DatasetWriter(
        root,
        "wb/Push-mujoco-v0",
        {"obs_mode": "state"},
        OBS_SPEC,
        ACTION_SPEC,
        fps=10,
        append=append,
        store_images=store_images,
    )


def test_round_trip_and_meta(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    eps = [make_episode(5, 0, expert=True), make_episode(7, 1)]
    with make_writer(root) as w:
        assert [w.add(e) for e in eps] == [0, 1]

    meta = load_meta(root)
    assert meta["format"] == FORMAT and meta["version"] == VERSION
    assert meta["env_id"] == "wb/Push-mujoco-v0" and meta["env_kwargs"] == {"obs_mode": "state"}
    assert meta["obs_spec"] == OBS_SPEC and meta["action_spec"] == ACTION_SPEC
    assert meta["fps"] == 10 and meta["cameras"] == ["front"]  # inferred from rgb/ keys
    assert meta["num_episodes"] == 2 and meta["num_steps"] == 12 and meta["complete"] is True
    e0 = meta["episodes"][0]
    assert e0["length"] == 5 and e0["success"] is True and e0["seed"] == 0 and e0["has_expert_actions"]
    assert e0["return"] == pytest.approx(eps[0].episode_return)
    assert e0["videos"] == {"front": "videos/episode_000000/front.mp4"}
    assert episode_path(root, 1).is_file() and video_path(root, 1, "front").is_file()

    for orig, back in zip(eps, iter_episodes(root), strict=True):
        assert set(back.obs) == {"state", "rgb/front"}
        for k in orig.obs:
            np.testing.assert_array_equal(back.obs[k], orig.obs[k])
        np.testing.assert_array_equal(back.actions, orig.actions)
        np.testing.assert_array_equal(back.rewards, orig.rewards)
        np.testing.assert_array_equal(back.successes, orig.successes)
        np.testing.assert_array_equal(back.sim_states, orig.sim_states)
        assert back.sim_states is not None and back.sim_states.dtype == np.float64
        assert (back.seed, back.info, back.terminated, back.truncated) == (orig.seed, orig.info, True, False)
        assert back.length == orig.length and back.success
    assert load_episode(root, 0).expert_actions is not None
    assert load_episode(root, 1).expert_actions is None
    assert set(load_episode(root, 0, obs_keys=["state"]).obs) == {"state"}


def test_stats_match_numpy(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    eps = [make_episode(5, 0), make_episode(7, 1)]
    with make_writer(root) as w:
        for e in eps:
            w.add(e)
    stats = dataset_stats(root)
    assert set(stats) == {"obs/state", "actions"}  # images get no stats
    for key, arr in (
        ("obs/state", np.concatenate([e.obs["state"] for e in eps])),  # (T0+1 + T1+1, 3)
        ("actions", np.concatenate([e.actions for e in eps])),  # (T0 + T1, 2)
    ):
        a = arr.astype(np.float64)
        np.testing.assert_allclose(stats[key]["mean"], a.mean(0), rtol=1e-10)
        np.testing.assert_allclose(stats[key]["std"], a.std(0), rtol=1e-10)
        np.testing.assert_allclose(stats[key]["min"], a.min(0))
        np.testing.assert_allclose(stats[key]["max"], a.max(0))
        assert stats[key]["count"] == len(a)


def test_killed_writer_leaves_valid_dataset_and_append_continues(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    w = make_writer(root)
    w.add(make_episode(4, 0))
    w.add(make_episode(3, 1))
    del w  # killed: close() never ran
    meta = load_meta(root)
    assert [e["index"] for e in meta["episodes"]] == [0, 1] and meta["complete"] is False
    assert len(list(iter_episodes(root))) == 2
    assert dataset_stats(root)["actions"]["count"] == 7

    with pytest.raises(FileExistsError, match="append=true"):
        make_writer(root)
    with make_writer(root, append=True) as w2:
        assert w2.add(make_episode(2, 2)) == 2
        assert load_meta(root)["complete"] is False  # appending reopens the dataset
    meta = load_meta(root)
    assert meta["num_episodes"] == 3 and meta["num_steps"] == 9 and meta["complete"] is True
    assert meta["stats"]["actions"]["count"] == 9  # stats cover old and new episodes


def test_writer_refuses_foreign_dir_and_mismatches(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a workbench dataset"):
        make_writer(tmp_path / "other")
    make_writer(tmp_path / "ds").close()
    with pytest.raises(ValueError, match="env_id"):
        DatasetWriter(tmp_path / "ds", "wb/Other-v0", {}, OBS_SPEC, ACTION_SPEC, fps=10, append=True)
    w = make_writer(tmp_path / "ds2")
    bad = make_episode(3, 0)
    bad.obs["state"] = bad.obs["state"][:, :2]
    with pytest.raises(ValueError, match="state"):
        w.add(bad)
    with pytest.raises(ValueError, match="length"):
        Episode(obs={"state": np.zeros((3, 2))}, actions=np.zeros((3, 1)), rewards=np.zeros(3))


def test_video_only_images(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    ep = make_episode(4, 0)
    ep.obs["rgb/front"] = np.full((5, 8, 8, 3), 128, np.uint8)  # flat colour survives H.264 exactly-ish
    with make_writer(root, store_images=False) as w:
        w.add(ep)
    back = load_episode(root, 0)
    assert back.obs["rgb/front"].shape == (5, 8, 8, 3)
    assert np.abs(back.obs["rgb/front"].astype(int) - 128).max() <= 3


def test_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        load_meta(tmp_path / "nope")
    root = tmp_path / "ds"
    with make_writer(root) as w:
        w.add(make_episode(3, 0))
    npz = episode_path(root, 0)
    npz.write_bytes(npz.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=r"episode_000000\.npz is corrupt"):
        load_episode(root, 0)
    with pytest.raises(IndexError):
        load_episode(root, 5)
    (root / "meta.json").write_text('{"format": ')
    with pytest.raises(CorruptFileError, match=r"meta\.json"):
        load_meta(root)
    (root / "meta.json").write_text(json.dumps({"format": FORMAT, "version": 999}))
    with pytest.raises(ValueError, match="version"):
        load_meta(root)


def test_spec_from_space() -> None:
    space = gym.spaces.Dict(
        {
            "state": gym.spaces.Box(-np.inf, np.inf, (3,), np.float32),
            "rgb": gym.spaces.Dict({"front": gym.spaces.Box(0, 255, (84, 84, 3), np.uint8)}),
        }
    )
    spec = spec_from_space(space)
    assert spec["state"] == {"shape": [3], "dtype": "float32", "low": [None] * 3, "high": [None] * 3}
    assert spec["rgb/front"] == {"shape": [84, 84, 3], "dtype": "uint8", "low": 0.0, "high": 255.0}
    act = spec_from_space(gym.spaces.Box(-1, 1, (4,), np.float32))
    assert act == {"shape": [4], "dtype": "float32", "low": [-1.0] * 4, "high": [1.0] * 4}
    json.dumps(spec)  # JSON-able
