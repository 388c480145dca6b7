"""Labels the simulator gives for free, as pure functions of rendered images and poses.

Every object in the workbench's tasks is unique (Tabletop's 15 colour x shape objects, Push's cube,
PushT's T, the targets and zones), so an instance id of the env's ``seg/<cam>`` image is also its
category id: the semantic mask is the instance mask, and a category list is the env's
``segmentation_names`` (id 0, the background, is not a category). ``isthing`` marks the movable
objects (what detection and pose estimation score); markers and the scene (table, robot) are ``stuff``.

Boxes are modal (the visible pixels, as COCO's), ``[x, y, w, h]`` in pixels with (0, 0) the top-left
corner of the top-left pixel; masks are COCO run-length encodings (pycocotools), so COCO tools read
them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from envs.scene_spec import back_project, fuse_index

# A depth PNG stores uint16 units of this many millimetres (BOP's depth_scale): 0.1 mm up to 6.5 m;
# 0 means no depth (nothing within range).
DEPTH_SCALE_MM = 0.1


def categories(
    segmentation_names: dict[int, str], objects: Iterable[str], markers: Iterable[str]
) -> list[dict[str, Any]]:
    """COCO categories of a task: one per segmentation id but the background, ``supercategory``
    object / marker / scene and ``isthing`` 1 for the movable objects."""
    things, marks = set(objects), set(markers)
    out = []
    for cid, name in sorted(segmentation_names.items()):
        if cid == 0:
            continue
        kind = "object" if name in things else "marker" if name in marks else "scene"
        out.append({"id": int(cid), "name": name, "supercategory": kind, "isthing": int(kind == "object")})
    return out


def instance_annotations(seg: np.ndarray, min_area: int = 1) -> list[dict[str, Any]]:
    """One COCO annotation (no ids yet) per instance visible in ``seg`` (H, W) int: ``category_id``,
    ``bbox`` [x, y, w, h], ``area`` (pixels) and ``segmentation`` (RLE with str counts)."""
    from pycocotools import mask as mask_utils

    out = []
    for cid in np.unique(seg):
        if cid == 0:
            continue
        mask = seg == cid
        area = int(mask.sum())
        if area < min_area:
            continue
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        x0, y0 = int(cols[0]), int(rows[0])
        bbox = [x0, y0, int(cols[-1]) + 1 - x0, int(rows[-1]) + 1 - y0]
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        out.append({"category_id": int(cid), "bbox": bbox, "area": area, "segmentation": rle, "iscrowd": 0})
    return out


def pose_matrix(pose: np.ndarray) -> np.ndarray:
    """(7,) xyz + quaternion wxyz -> (4, 4) homogeneous transform."""
    x, y, z, w, qx, qy, qz = (float(v) for v in pose)
    n = np.sqrt(w * w + qx * qx + qy * qy + qz * qz)
    w, qx, qy, qz = w / n, qx / n, qy / n, qz / n
    out = np.eye(4)
    out[:3, :3] = [
        [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * w), 2 * (qx * qz + qy * w)],
        [2 * (qx * qy + qz * w), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * w)],
        [2 * (qx * qz - qy * w), 2 * (qy * qz + qx * w), 1 - 2 * (qx * qx + qy * qy)],
    ]
    out[:3, 3] = (x, y, z)
    return out


def project(
    points: np.ndarray, intrinsics: np.ndarray, world_from_cam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> pixel coordinates (N, 2) (u right, v down; OpenCV) and depth along the
    optical axis (N,) for a camera with ``intrinsics`` (3, 3) and pose ``world_from_cam`` (4, 4)."""
    cam_from_world = np.linalg.inv(world_from_cam)
    cam = points @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]  # (N, 3)
    uv = cam @ intrinsics.T  # (N, 3)
    return uv[:, :2] / uv[:, 2:3], cam[:, 2]


def depth_to_png(depth: np.ndarray) -> np.ndarray:
    """(H, W) float metres -> uint16 in units of ``DEPTH_SCALE_MM``; out of range (or not finite) -> 0."""
    units = np.nan_to_num(depth, nan=0.0, posinf=0.0) * (1000.0 / DEPTH_SCALE_MM)
    return np.where((units > 0) & (units < 65535.5), np.rint(units), 0).astype(np.uint16)


def depth_from_png(image: np.ndarray) -> np.ndarray:
    """The inverse of ``depth_to_png``: uint16 -> float32 metres, 0 where unknown."""
    return image.astype(np.float32) * np.float32(DEPTH_SCALE_MM / 1000.0)


def labelled_cloud(
    views: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]], n: int
) -> dict[str, np.ndarray]:
    """A point cloud fused over camera ``views`` (depth (H, W) m, rgb (H, W, 3) uint8, seg (H, W) int,
    OpenCV pose (4, 4), fovy deg) as the env's ``points`` observation makes it (same crop, same
    ``fuse_index`` rows), with every point's instance id: ``xyz`` (n, 3) float32 world m, ``rgb`` (n, 3)
    uint8, ``instance`` (n,) int32. No point at all gives zeros and instance 0."""
    xyz_parts, value_parts = [], []
    for depth, rgb, seg, world_from_cam, fovy in views:
        rot = world_from_cam[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # back to OpenGL (right, up, back)
        values = np.concatenate([rgb.astype(np.int64), seg[..., None].astype(np.int64)], axis=-1)
        xyz, kept = back_project(depth, values, world_from_cam[:3, 3], rot, fovy)
        xyz_parts.append(xyz)
        value_parts.append(kept)
    xyz = np.concatenate(xyz_parts)
    values = np.concatenate(value_parts)
    if len(xyz) == 0:
        return {"xyz": np.zeros((n, 3), np.float32), "rgb": np.zeros((n, 3), np.uint8),
                "instance": np.zeros(n, np.int32)}  # fmt: skip
    index = fuse_index(len(xyz), n)
    return {
        "xyz": xyz[index].astype(np.float32),
        "rgb": values[index, :3].astype(np.uint8),
        "instance": values[index, 3].astype(np.int32),
    }
