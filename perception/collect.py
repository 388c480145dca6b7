"""``workbench perception collect``: sim-labelled frames for perception models, written to disk.

Frames come from the scripted expert's episodes (realistic arm poses, objects pushed and lifted)
on layouts the task's own sampler draws from one range of the seed plan: ``split=train`` from the
``demos`` range, ``validation`` and ``test`` from theirs, so no layout is in two splits. Each
episode yields ``frames_per_episode`` frames at steps drawn from a generator seeded by the episode
seed; a frame is every camera at that instant. The layout of ``OUT/<split>/`` (docs/perception.md):

- ``rgb/NNNNNN_<cam>.png`` uint8; ``depth/NNNNNN_<cam>.png`` uint16 in 0.1 mm (0: none);
  ``seg/NNNNNN_<cam>.png`` uint16 instance ids (= category ids, ``perception.labels``);
- ``points/NNNNNN.npz``: the frame's cloud fused over its cameras, as the env's ``points``
  observation, with each point's instance id;
- ``annotations.json``: COCO (images, annotations with modal boxes and RLE masks, categories) plus
  per image the camera (intrinsics ``K``, pose ``T_world_cam``, OpenCV convention), the episode seed
  and step, and per annotation the object's 6-D pose in the world and in the camera frame.

``OUT/dataset.json`` records the env, cameras, categories and every split's seeds. A split is
written into a temporary folder and renamed when complete: an interrupted collection leaves no
half-written split, and an existing split is never overwritten.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from perception.labels import (
    DEPTH_SCALE_MM,
    categories,
    depth_to_png,
    instance_annotations,
    labelled_cloud,
    pose_matrix,
)
from workbench.config.seeds import SeedPlan
from workbench.errors import UserError
from workbench.io import atomic_save_npz, atomic_write_json, load_json

FORMAT = "workbench-perception"
VERSION = 1
SPLIT_RANGES = {"train": "demos", "validation": "validation", "test": "test"}  # split -> seed-plan range


@dataclass
class CollectSpec:
    """What to collect: env ``env_id`` (built with ``env_kwargs``), ``frames`` frames of ``cameras``
    at ``width`` x ``height`` from the ``split``'s seed range (from its start + ``seed_offset``)."""

    env_id: str
    cameras: list[str]
    width: int
    height: int
    frames: int
    frames_per_episode: int
    split: str
    num_points: int
    seed_offset: int = 0
    env_kwargs: dict[str, Any] | None = None


def collect(spec: CollectSpec, out: Path, seeds: SeedPlan, progress: bool = True) -> dict[str, Any]:
    """Write ``out/<split>`` and update ``out/dataset.json``; returns a summary."""
    import gymnasium as gym

    import envs
    from envs.scene_spec import CAMERAS
    from workbench.progress import ProgressBar

    if spec.split not in SPLIT_RANGES:
        raise UserError(f"split={spec.split!r} is not one of {list(SPLIT_RANGES)}")
    final = out / spec.split
    if final.exists():
        raise UserError(f"{final} exists; collect another split or write to a new out= (nothing changed)")
    meta_path = out / "dataset.json"
    meta = _read_meta(meta_path)
    episodes = -(-spec.frames // spec.frames_per_episode)
    range_name = SPLIT_RANGES[spec.split]
    seed_range = seeds.get(range_name)
    if spec.seed_offset < 0 or spec.seed_offset + episodes > seed_range.size:
        raise UserError(
            f"seed_offset={spec.seed_offset} with {episodes} episodes leaves seeds.{range_name} "
            f"{seed_range}; choose an offset in [0, {seed_range.size - episodes}]"
        )
    first = seed_range.start + spec.seed_offset

    # The expert steps on the state; images are rendered at the capture steps only (a few per episode).
    kwargs = {**(spec.env_kwargs or {}), "obs_mode": "state", "terminate_on_success": False}
    env = gym.make(spec.env_id, **kwargs)
    base: Any = env.unwrapped
    task = base.task
    cats = categories(base.segmentation_names, [o.name for o in task.objects], [m.name for m in task.markers])
    setup = {"format": FORMAT, "version": VERSION, "env_id": spec.env_id, "task": task.name,
             "cameras": list(spec.cameras), "width": spec.width, "height": spec.height,
             "num_points": spec.num_points, "depth_scale_mm": DEPTH_SCALE_MM, "categories": cats}  # fmt: skip
    if meta is not None:
        _check_same_setup(meta, setup, meta_path)

    tmp = out / f".{spec.split}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)  # an earlier collection of this split that did not finish
    for sub in ("rgb", "depth", "seg", "points"):
        (tmp / sub).mkdir(parents=True)
    expert = envs.make_expert(spec.env_id, controller=base.controller_name)
    horizon = env.spec.max_episode_steps if env.spec is not None and env.spec.max_episode_steps else 100
    coco: dict[str, list[dict[str, Any]]] = {"images": [], "annotations": [], "categories": cats}
    frame = 0
    try:
        with ProgressBar(f"collect {spec.split}", spec.frames, enabled=progress) as bar:
            for episode in range(episodes):
                seed = first + episode
                wanted = min(spec.frames_per_episode, spec.frames - frame)
                rng = np.random.default_rng([seed, 0x9E7C])
                steps = set(rng.choice(horizon, size=min(wanted, horizon), replace=False).tolist())
                obs, _ = env.reset(seed=seed)
                expert.reset_envs(np.ones(1, bool), [seed])
                for step in range(horizon):
                    if step in steps:
                        _write_frame(tmp, frame, base, spec, seed, step, coco, CAMERAS)
                        frame += 1
                        bar.update(1)
                    if step == max(steps):
                        break
                    obs, *_ = env.step(expert.act({"state": obs["state"][None]})[0])
        for i, annotation in enumerate(coco["annotations"]):
            annotation["id"] = i + 1
        atomic_write_json(tmp / "annotations.json", coco, indent=None)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        env.close()
    tmp.rename(final)
    splits = dict(meta["splits"]) if meta is not None else {}
    splits[spec.split] = {"frames": frame, "episodes": episodes, "seed_range": SPLIT_RANGES[spec.split],
                          "first_seed": first, "last_seed": first + episodes - 1,
                          "images": len(coco["images"]), "annotations": len(coco["annotations"]),
                          "created": datetime.now().isoformat(timespec="seconds")}  # fmt: skip
    atomic_write_json(meta_path, {**setup, "splits": splits})
    return {"out": str(out), "split": spec.split, **splits[spec.split]}


def _write_frame(
    root: Path, frame: int, base: Any, spec: CollectSpec, seed: int, step: int,
    coco: dict[str, list[dict[str, Any]]], cameras: dict[str, Any],
) -> None:  # fmt: skip
    """Every camera's images and COCO records of ``frame``, and its labelled point cloud."""
    import imageio.v3 as iio

    poses = base.object_poses()
    views = []
    for cam in spec.cameras:
        rgb, depth, seg = (base.render_obs(m, cam, spec.width, spec.height) for m in ("rgb", "depth", "seg"))
        intrinsics, world_from_cam = base.camera_matrices(cam, spec.width, spec.height)
        views.append((depth, rgb, seg, world_from_cam, cameras[cam].fovy))
        name = f"{frame:06d}_{cam}.png"
        iio.imwrite(root / "rgb" / name, rgb)
        iio.imwrite(root / "depth" / name, depth_to_png(depth))
        iio.imwrite(root / "seg" / name, seg.astype(np.uint16))
        image_id = len(coco["images"]) + 1
        coco["images"].append({
            "id": image_id, "file_name": f"rgb/{name}", "depth_file": f"depth/{name}",
            "seg_file": f"seg/{name}", "width": spec.width, "height": spec.height, "frame": frame,
            "camera": cam, "episode_seed": seed, "step": step, "K": intrinsics.tolist(),
            "T_world_cam": world_from_cam.tolist(),
        })  # fmt: skip
        cam_from_world = np.linalg.inv(world_from_cam)
        for annotation in instance_annotations(seg):
            name_of = base.segmentation_names[annotation["category_id"]]
            annotation["image_id"] = image_id
            if name_of in poses:
                annotation["pose_world"] = poses[name_of].tolist()  # xyz + quaternion wxyz
                annotation["T_cam_object"] = (cam_from_world @ pose_matrix(poses[name_of])).tolist()
            coco["annotations"].append(annotation)
    atomic_save_npz(root / "points" / f"{frame:06d}.npz", **labelled_cloud(views, spec.num_points))


def _read_meta(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        if path.parent.exists() and any(p for p in path.parent.iterdir() if not p.name.startswith(".")):
            raise UserError(f"{path.parent} is not a perception dataset (no dataset.json) and not empty; "
                            "choose a new out=")  # fmt: skip
        return None
    meta = load_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path} is not a {FORMAT} dataset file; choose a new out=")
    if meta.get("version") != VERSION:
        raise UserError(f"{path} is format version {meta.get('version')}; this workbench writes {VERSION}")
    return meta


def _check_same_setup(meta: dict[str, Any], setup: dict[str, Any], path: Path) -> None:
    """Splits of one dataset share env, cameras and image size: refuse to mix them, naming the key."""
    for key, value in setup.items():
        if meta.get(key) != value:
            raise UserError(
                f"{path} was collected with {key}={meta.get(key)!r}; this collection has {value!r}: "
                "use the same settings or a new out="
            )
