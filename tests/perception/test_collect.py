"""``workbench perception collect``: a COCO dataset on disk that pycocotools reads, seeds from the
seed plan's split ranges, and bad input refused in one line with nothing half-written."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from perception import collect as collect_module
from perception.collect import CollectSpec, collect
from perception.labels import depth_from_png
from tests.conftest import workbench
from workbench.config.seeds import SeedPlan
from workbench.errors import UserError


def test_collect_writes_a_coco_dataset(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    out = tmp_path / "tabletop"
    workbench("perception", "collect", "env=wb/Tabletop-mujoco-v0", "frames=3", "frames_per_episode=2",
              "cameras=[agentview,front]", "width=64", "height=64", "num_points=256", f"out={out}",
              "progress=false")  # fmt: skip
    workbench("perception", "collect", "env=wb/Tabletop-mujoco-v0", "frames=2", "split=test",
              "cameras=[agentview,front]", "width=64", "height=64", "num_points=256", f"out={out}",
              "progress=false")  # fmt: skip
    import json

    meta = json.loads((out / "dataset.json").read_text())
    assert meta["splits"]["train"]["first_seed"] == 0 and meta["splits"]["train"]["episodes"] == 2
    assert meta["splits"]["test"]["first_seed"] == 1_000_000  # the seed plan's test range
    assert sum(c["isthing"] for c in meta["categories"]) == 15  # Tabletop's colour x shape objects
    coco = COCO(str(out / "train" / "annotations.json"))
    assert len(coco.dataset["images"]) == 3 * 2  # frames x cameras
    for image in coco.dataset["images"]:
        seg = iio.imread(out / "train" / image["seg_file"])
        rgb = iio.imread(out / "train" / image["file_name"])
        depth = depth_from_png(iio.imread(out / "train" / image["depth_file"]))
        assert rgb.shape == (64, 64, 3) and seg.shape == (64, 64) and depth.max() > 0.3
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert {a["category_id"] for a in anns} == set(np.unique(seg)) - {0}
        for ann in anns:
            np.testing.assert_array_equal(coco.annToMask(ann), seg == ann["category_id"])
            if coco.cats[ann["category_id"]]["isthing"]:
                assert np.asarray(ann["T_cam_object"]).shape == (4, 4) and len(ann["pose_world"]) == 7
    cloud = np.load(out / "train" / "points" / "000000.npz")
    assert cloud["xyz"].shape == (256, 3) and cloud["instance"].shape == (256,)
    assert not list(out.glob(".*partial"))


def test_bad_collections_are_refused_and_change_nothing(tmp_path: Path) -> None:
    out = tmp_path / "push"
    args = ("perception", "collect", "env=wb/Push-mujoco-v0", "frames=1", "width=32", "height=32",
            "progress=false")  # fmt: skip
    workbench(*args, f"out={out}")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    cases = {
        (f"out={out}",): "exists",  # the train split is there already
        (f"out={out}", "split=test", "width=48", "height=48"): "width=32",  # splits share the setup
        (f"out={out}", "split=test", "seeds.test.size=1", "frames=2", "frames_per_episode=1"): "seed_offset",
        (f"out={out}", "split=valid"): "split",
        (f"out={out}", "cameras=[nowhere]"): "camera",
        ("out=" + str(out / "train" / "rgb"),): "not a perception dataset",
    }
    for extra, words in cases.items():
        proc = workbench(*args, *extra, check=False)
        assert proc.returncode == 2, (extra, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert words in lines[-1], (extra, lines)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_an_interrupted_collection_leaves_no_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    write = collect_module._write_frame

    def failing(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(collect_module, "_write_frame", failing)
    spec = CollectSpec("wb/Push-mujoco-v0", ["agentview"], 32, 32, frames=3, frames_per_episode=3,
                       split="train", num_points=64)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        collect(spec, tmp_path / "d", SeedPlan(), progress=False)
    assert not (tmp_path / "d" / "train").exists() and not list((tmp_path / "d").glob(".*"))
    assert not (tmp_path / "d" / "dataset.json").exists()
    with pytest.raises(UserError, match="split"):
        bad = CollectSpec("wb/Push-mujoco-v0", ["agentview"], 32, 32, 1, 1, "dev", 64)
        collect(bad, tmp_path / "e", SeedPlan())
