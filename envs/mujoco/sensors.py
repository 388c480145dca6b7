"""Camera sensors of the MuJoCo envs: rgb, depth (metres), instance segmentation.

(Point clouds: ``envs.panda_base`` back-projects these depth images, as for every backend.)

Observation frames use fast settings (no shadows, reflections, skybox or multisampling); video frames
(``fast=False``) keep MuJoCo's pretty defaults. One ``mujoco.Renderer`` per (size, fast) is kept and
reused across cameras; depth and segmentation are extra passes of the same renderer.
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.scene_spec import BACKGROUND, ROBOT, TABLE
from envs.tasks import Task
from envs.tasks.base import PARK_Z


def segmentation_table(model: mujoco.MjModel, task: Task) -> tuple[np.ndarray, dict[int, str]]:
    """(ngeom,) geom id -> instance id, and the instance id -> name table."""
    names = {BACKGROUND: "background", TABLE: "table", ROBOT: "robot"}
    by_body: dict[int, int] = {}
    for k, name in enumerate([o.name for o in task.objects] + [m.name for m in task.markers]):
        names[3 + k] = name
        by_body[model.body(name).id] = 3 + k
    lut = np.zeros(model.ngeom, dtype=np.int32)
    for g in range(model.ngeom):
        body = int(model.geom_bodyid[g])
        if body in by_body:
            lut[g] = by_body[body]
        elif model.body(body).name.startswith("panda_"):
            lut[g] = ROBOT
        elif model.geom(g).name == "table":
            lut[g] = TABLE
    return lut, names


HIDDEN_GROUP = 3  # geom group of parked pool objects: MuJoCo's default mjvOption draws groups 0-2 only


class CameraRig:
    """Renders observation images for a set of cameras at one size (and pretty frames on demand).

    Parked (absent) pool objects are not drawn: before each render their geoms move to
    ``HIDDEN_GROUP``, which no renderer shows (Tabletop parks 10-12 of its 15 objects; drawing them
    below the table cost half the frame rate). The model is shared by every env of the task in the
    process, so the groups are set from *this* env's state right before each scene update and restored
    right after it; physics never reads ``geom_group``, so exact replay is unaffected.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, lut: np.ndarray, task: Task) -> None:
        self.model, self.data, self.lut = model, data, lut
        self._renderers: dict[tuple[int, int, bool], mujoco.Renderer] = {}
        self._geom = int(mujoco.mjtObj.mjOBJ_GEOM)
        # Pool geoms and where their body's height lives: free-joint objects in qpos (adr + 2), mocap
        # markers in mocap_pos; one flat (qpos ++ mocap z) index per geom.
        objects = {model.body(o.name).id for o in task.objects}
        markers = {model.body(k.name).id for k in task.markers}
        geoms, height = [], []
        for g in range(model.ngeom):
            body = int(model.geom_bodyid[g])
            if body in objects:
                geoms.append(g)
                height.append(int(model.jnt_qposadr[model.body_jntadr[body]]) + 2)
            elif body in markers:
                geoms.append(g)
                height.append(model.nq + int(model.body_mocapid[body]))
        self._pool_geoms = np.array(geoms, dtype=np.int64)  # (G,)
        self._pool_height = np.array(height, dtype=np.int64)  # (G,) into concat(qpos, mocap_pos[:, 2])
        self._pool_group = model.geom_group[self._pool_geoms].copy()  # (G,) groups when in play
        self._heights = np.zeros(model.nq + model.nmocap)

    def _update_scene(self, r: mujoco.Renderer, camera: str) -> None:
        if not len(self._pool_geoms):
            r.update_scene(self.data, camera=camera)
            return
        heights, nq = self._heights, self.model.nq
        heights[:nq] = self.data.qpos
        heights[nq:] = self.data.mocap_pos[:, 2]
        parked = heights[self._pool_height] < PARK_Z / 2
        self.model.geom_group[self._pool_geoms] = np.where(parked, HIDDEN_GROUP, self._pool_group)
        try:
            r.update_scene(self.data, camera=camera)  # the scene takes the groups now; render() does not
        finally:
            # Leave the shared model as found: an env made later in this process reads its pool's
            # groups from it (a hidden group left behind would hide that object from it for good).
            self.model.geom_group[self._pool_geoms] = self._pool_group

    def renderer(self, width: int, height: int, fast: bool) -> mujoco.Renderer:
        key = (width, height, fast)
        r = self._renderers.get(key)
        if r is None:
            r = self._renderers[key] = self._make(width, height, fast)
        return r

    def rgb(self, camera: str, width: int, height: int, fast: bool = True) -> np.ndarray:
        r = self.renderer(width, height, fast)
        self._update_scene(r, camera)
        return r.render()

    def depth(self, camera: str, width: int, height: int) -> np.ndarray:
        """(H, W) float32 distance along the optical axis, metres (MuJoCo's depth buffer, near/far)."""
        r = self.renderer(width, height, True)
        self._update_scene(r, camera)
        r.enable_depth_rendering()
        try:
            return r.render()
        finally:
            r.disable_depth_rendering()

    def seg(self, camera: str, width: int, height: int) -> np.ndarray:
        """(H, W) int32 instance ids (see ``segmentation_table``); 0 = background."""
        r = self.renderer(width, height, True)
        self._update_scene(r, camera)
        r.enable_segmentation_rendering()
        try:
            raw = r.render()  # (H, W, 2): object id, object type; -1 = nothing
        finally:
            r.disable_segmentation_rendering()
        ids, types = raw[..., 0], raw[..., 1]
        out = self.lut[np.clip(ids, 0, len(self.lut) - 1)]
        out[(types != self._geom) | (ids < 0)] = BACKGROUND
        return out

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()

    def _make(self, width: int, height: int, fast: bool) -> mujoco.Renderer:
        quality = self.model.vis.quality
        samples = quality.offsamples
        if fast:  # multisampling is fixed when the GL context is made; the model is shared, so restore it
            quality.offsamples = 0
        try:
            renderer = mujoco.Renderer(self.model, height=height, width=width)
        finally:
            quality.offsamples = samples
        if fast:  # observation frames: no shadows, reflections or skybox (~10x faster in software GL)
            for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION,
                         mujoco.mjtRndFlag.mjRND_SKYBOX):
                renderer.scene.flags[flag] = 0
        return renderer
