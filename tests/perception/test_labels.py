"""Label geometry: boxes, masks, depth, camera matrices and labelled point clouds agree with the
rendered scene on known poses, in both simulators; COCO masks read back with pycocotools."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the envs)
from envs.scene_spec import CAMERAS
from perception.labels import (
    categories,
    depth_from_png,
    depth_to_png,
    instance_annotations,
    labelled_cloud,
    pose_matrix,
    project,
)


@pytest.mark.parametrize("backend", ["mujoco", "pybullet"])
def test_labels_match_the_rendered_cube(backend: str) -> None:
    size = 96
    env = gym.make(f"wb/Push-{backend}-v0", obs_mode="rgb+depth+seg+points", cameras=("agentview", "top"),
                   width=size, height=size, num_points=512)  # fmt: skip
    try:
        obs, _ = env.reset(seed=7)
        base = env.unwrapped
        cube_id = next(i for i, n in base.segmentation_names.items() if n == "cube")
        cube = base.object_poses()["cube"]
        half = base.task.objects[0].size[0]
        views = []
        for cam in ("agentview", "top"):
            seg, depth = obs[f"seg/{cam}"], obs[f"depth/{cam}"]
            intrinsics, world_from_cam = base.camera_matrices(cam, size, size)
            (u, v), z = (a[0] for a in project(cube[None, :3], intrinsics, world_from_cam))
            row, col = round(float(v)), round(float(u))
            assert seg[row, col] == cube_id, f"{cam}: the cube's centre projects onto {seg[row, col]}"
            # the visible surface at the centre's pixel lies between the cube's near face and its centre
            assert z - 2 * half <= depth[row, col] <= z + 1e-3, (cam, depth[row, col], z)
            (box,) = [a for a in instance_annotations(seg) if a["category_id"] == cube_id]
            x, y, w, h = box["bbox"]
            assert x <= u <= x + w and y <= v <= y + h
            assert box["area"] == int((seg == cube_id).sum())
            views.append((depth, obs[f"rgb/{cam}"], seg, world_from_cam, CAMERAS[cam].fovy))
        cloud = labelled_cloud(views, 512)
        # the same points (and colours) as the env's own `points` observation
        np.testing.assert_allclose(cloud["xyz"], obs["points"][:, :3], atol=1e-5)
        np.testing.assert_allclose(cloud["rgb"] / 255.0, obs["points"][:, 3:], atol=1e-6)
        on_cube = cloud["xyz"][cloud["instance"] == cube_id]
        assert len(on_cube) > 0
        in_cube = (on_cube - cube[:3]) @ pose_matrix(cube)[:3, :3]  # cube-frame coordinates
        assert np.abs(in_cube).max() <= half + 0.004
    finally:
        env.close()


def test_instance_annotations_read_back_with_pycocotools() -> None:
    from pycocotools import mask as mask_utils

    seg = np.zeros((20, 30), np.int32)
    seg[2:6, 3:10] = 4  # 4 rows x 7 cols
    seg[10:20, 25:30] = 7
    anns = {a["category_id"]: a for a in instance_annotations(seg)}
    assert sorted(anns) == [4, 7]
    assert anns[4]["bbox"] == [3, 2, 7, 4] and anns[4]["area"] == 28
    assert anns[7]["bbox"] == [25, 10, 5, 10] and anns[7]["area"] == 50
    rle = dict(anns[4]["segmentation"], counts=anns[4]["segmentation"]["counts"].encode())
    np.testing.assert_array_equal(mask_utils.decode(rle), (seg == 4).astype(np.uint8))
    assert mask_utils.toBbox(rle).tolist() == [3, 2, 7, 4]  # pycocotools agrees on the box


def test_depth_png_round_trip_and_categories() -> None:
    depth = np.array([[0.5, 1.23456], [np.inf, 7.0]], np.float32)
    back = depth_from_png(depth_to_png(depth))
    assert abs(back[0, 0] - 0.5) < 1e-4 and abs(back[0, 1] - 1.23456) < 1e-4
    assert back[1, 0] == 0 and back[1, 1] == 0  # no depth / beyond 6.5 m
    cats = categories({0: "background", 1: "table", 2: "robot", 3: "cube", 4: "target"}, ["cube"], ["target"])
    assert [(c["id"], c["supercategory"], c["isthing"]) for c in cats] == [
        (1, "scene", 0), (2, "scene", 0), (3, "object", 1), (4, "marker", 0)
    ]  # fmt: skip
