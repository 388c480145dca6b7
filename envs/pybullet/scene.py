"""Build the PyBullet scene (Panda + table + the task's objects and markers) in one client; cameras.

Mirrors ``envs/mujoco/scene.py``: same Panda URDF from ``pybullet_data`` with its collision meshes
doubling as visuals (the visual OBJs are 1-2 MB each: 0.17 s to load and slow to rasterise on the
CPU), same table, same task objects (``envs/tasks``: one pool per task, absent objects parked), same
camera poses and fields of view (``envs/scene_spec.py``), same collision pairs:
  table <-> hand/fingers, objects <-> everything, arm links <-> objects only (never the table or
  themselves), expressed as PyBullet collision group/mask bits.

World frame: robot base at the origin on the table top (z = 0 is the table surface), x away from the
robot, z up, metres. Every call passes ``physicsClientId`` so several envs live in one process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as p

from envs import robot
from envs.scene_spec import TABLE_CENTER_X, TABLE_HALF, CameraSpec, look_at, park_position
from envs.tasks.base import PARK_Z, Task, tee_boxes

PHYSICS_DT = 1.0 / 240.0  # s, PyBullet's native step; 12 substeps -> 0.05 s per env step (20 Hz), as MuJoCo
SUBSTEPS = 12
FLOOR_Z = -0.75

# Collision groups (bit i = group i) and what each group collides with.
TABLE, OBJECT, ARM, HAND = 1, 2, 4, 8
MASKS = {TABLE: OBJECT | HAND, OBJECT: TABLE | OBJECT | ARM | HAND, ARM: OBJECT, HAND: TABLE | OBJECT}

# Motors: POSITION_CONTROL is a velocity constraint, v* = kp (q* - q) / dt + kd (qd* - qd), capped by the
# URDF effort limits (87 N m shoulder/elbow, 12 N m wrist), as MuJoCo's actuator force range.
ARM_POSITION_GAIN = 0.15  # tuned so the ee follows the same ee_delta commands as MuJoCo within ~1.5 cm
ARM_VELOCITY_GAIN = 1.0
ARM_FORCES = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)  # N m
FINGER_FORCE = 20.0  # N per finger, as MuJoCo's gripper force range
FINGER_POSITION_GAIN = 0.05
# Per movable joint (7 arm + 2 fingers), in the order the env drives them.
MOTOR_FORCES = [*ARM_FORCES, FINGER_FORCE, FINGER_FORCE]
MOTOR_POSITION_GAINS = [ARM_POSITION_GAIN] * 7 + [FINGER_POSITION_GAIN] * 2
MOTOR_VELOCITY_GAINS = [ARM_VELOCITY_GAIN] * 9

FRICTION_TABLE = 1.0  # PyBullet multiplies the two bodies' coefficients (MuJoCo takes the max)
# Fingers: 0.8 x 0.6 = 0.48 against a cube. With MuJoCo's 1.0 (x 0.6 = 0.6) the pads stick to the corners
# of a cube at a yaw of 0.2-0.3 rad and the gripper jams half open (5.6 instead of 5.0 cm) instead of
# turning the cube square between them (pick_place/stack experts: ~50% success); much lower (0.5)
# and pushed cubes slide off the closed fingertips (longer push episodes). 0.8: 100% on 40 seeds each.
FRICTION_FINGER = 0.8

WHITE, GREY = (0.92, 0.92, 0.95, 1.0), (0.25, 0.25, 0.28, 1.0)
TABLE_RGBA, FLOOR_RGBA = (0.62, 0.5, 0.38, 1.0), (0.35, 0.37, 0.4, 1.0)


Z_NEAR, Z_FAR = 0.01, 10.0  # m, clip planes of every camera (depth is exact in between)
LIGHT_DIRECTION = (0.6, -0.4, 1.6)  # towards the light: MuJoCo's key light position
# TinyRenderer's ambient and diffuse coefficients (its defaults are 0.6, 0.35), scaled by the light
# parameter. Fitted so PyBullet's frames look like MuJoCo's: a grid search (step 0.1) on the mean absolute
# pixel difference of Push agentview frames at 6 layouts brought it from 31 to 6.4 grey levels (the table
# was ~20% darker than MuJoCo's); an image policy then sees the same colours in both engines.
LIGHT_AMBIENT, LIGHT_DIFFUSE = 0.8, 0.4
JOINT_DAMPING = 1.0  # N m s/rad on every arm joint, as MuJoCo's


def light_kwargs(shift: Sequence[float] = (0.0, 0.0, 0.0), scale: float = 1.0) -> dict[str, Any]:
    """``p.getCameraImage``'s lighting: the key light moved by ``shift`` (m), intensity x ``scale``."""
    return {"lightDirection": [d + s for d, s in zip(LIGHT_DIRECTION, shift, strict=True)],
            "lightAmbientCoeff": LIGHT_AMBIENT * scale, "lightDiffuseCoeff": LIGHT_DIFFUSE * scale}


@functools.cache
def panda_urdf_path() -> Path:
    """A copy of the Panda URDF with absolute mesh paths and collision meshes as visuals.

    Named by its content's hash in the temp dir, so every process (vector env workers too) shares one
    file; written through a per-process temporary name and renamed (atomic for concurrent readers).
    """
    root = robot.panda_dir()
    text = robot.panda_urdf().read_text()
    text = text.replace("package://meshes/visual/", "package://meshes/collision/")
    text = text.replace("package://", f"{root}/")
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"wb_panda_{digest}.urdf"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


@dataclass
class SceneIds:
    """PyBullet ids of everything the env touches, looked up once."""

    client: int
    robot: int
    arm_joints: tuple[int, ...]  # (7,) joint indices
    finger_joints: tuple[int, ...]  # (2,)
    ee_link: int
    hand_link: int
    link_of: dict[str, int]  # URDF link name -> PyBullet link index
    table: int
    objects: dict[str, int]  # pool object name -> body id, in pool order
    markers: dict[str, int]  # pool marker name -> body id


def _box(client: int, half: tuple[float, float, float], pos: tuple[float, float, float],
         rgba: tuple[float, ...], mass: float = 0.0, collide: bool = True) -> int:
    col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=client) if collide else -1
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=rgba, physicsClientId=client)
    return p.createMultiBody(mass, col, vis, basePosition=pos, physicsClientId=client)


def _add_shape(client: int, shape: str, size: tuple[float, ...], rgba: tuple[float, ...],
               mass: float = 0.0, friction: float | None = None, fixture: bool = False) -> int:
    """A body for a task ``ObjectSpec`` (``friction`` given: dynamic, colliding) or a ``MarkerSpec``
    (``fixture``: static but colliding, else visual only)."""
    kw: dict[str, Any] = {"physicsClientId": client}
    solid = friction is not None or fixture
    boxes: list[tuple[np.ndarray, np.ndarray]] = []
    if shape == "box":
        boxes = [(np.zeros(3), np.array(size))]
    elif shape == "tee":
        boxes = tee_boxes(size)
    if boxes:
        n = len(boxes)
        halves, offsets = [b[1].tolist() for b in boxes], [b[0].tolist() for b in boxes]
        vis = p.createVisualShapeArray(shapeTypes=[p.GEOM_BOX] * n, halfExtents=halves,
                                       visualFramePositions=offsets, rgbaColors=[rgba] * n, **kw)
        col = -1
        if solid:
            col = p.createCollisionShapeArray(shapeTypes=[p.GEOM_BOX] * n, halfExtents=halves,
                                              collisionFramePositions=offsets, **kw)
    elif shape in ("cylinder", "disc"):
        radius, half_h = size
        lift = 0.0015 if shape == "disc" else 0.0  # a disc lies on the table: no z-fighting with its top
        vis = p.createVisualShape(p.GEOM_CYLINDER, radius=radius, length=2 * half_h, rgbaColor=rgba,
                                  visualFramePosition=(0.0, 0.0, lift), **kw)
        col = (p.createCollisionShape(p.GEOM_CYLINDER, radius=radius, height=2 * half_h, **kw)
               if solid else -1)
    elif shape == "sphere":
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=size[0], rgbaColor=rgba, **kw)
        col = p.createCollisionShape(p.GEOM_SPHERE, radius=size[0], **kw) if solid else -1
    else:
        raise ValueError(f"unknown shape {shape!r}; known: box, cylinder, sphere, tee, disc")
    mass = mass if friction is not None else 0.0
    body = p.createMultiBody(mass, col, vis, basePosition=(0, 0, PARK_Z), **kw)
    if friction is not None:
        # PyBullet multiplies the coefficients of a contact; the table's 1.0 keeps object-table = friction
        p.changeDynamics(body, -1, lateralFriction=friction, linearDamping=0.0, angularDamping=0.0, **kw)
    return body


def build_scene(task: Task) -> SceneIds:
    """Connect a fresh ``p.DIRECT`` client and load the world for ``task``; returns its ids."""
    client = p.connect(p.DIRECT)
    kw: dict[str, Any] = {"physicsClientId": client}
    p.setTimeStep(PHYSICS_DT, **kw)
    p.setGravity(0.0, 0.0, -9.81, **kw)
    # Sorted overlapping pairs: the contact order, hence the solver result, depends on the state only.
    p.setPhysicsEngineParameter(deterministicOverlappingPairs=1, numSolverIterations=50, **kw)

    body = p.loadURDF(str(panda_urdf_path()), useFixedBase=True,
                      flags=p.URDF_USE_INERTIA_FROM_FILE | p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES, **kw)
    link_of = {p.getJointInfo(body, j, **kw)[12].decode(): j for j in range(p.getNumJoints(body, **kw))}
    link_of[p.getBodyInfo(body, **kw)[0].decode()] = -1
    joint_of = {p.getJointInfo(body, j, **kw)[1].decode(): j for j in range(p.getNumJoints(body, **kw))}
    for name, link in link_of.items():
        is_hand = name in robot.HAND_BODIES
        group = HAND if is_hand else ARM
        p.setCollisionFilterGroupMask(body, link, group, MASKS[group], **kw)
        grey = is_hand or name == "panda_link7"
        p.changeVisualShape(body, link, rgbaColor=GREY if grey else WHITE, **kw)
        p.changeDynamics(body, link, linearDamping=0.0, angularDamping=0.0, **kw)
        if name in ("panda_leftfinger", "panda_rightfinger"):
            p.changeDynamics(body, link, lateralFriction=FRICTION_FINGER, **kw)
    for name in robot.ARM_JOINTS:
        p.changeDynamics(body, joint_of[name], jointDamping=JOINT_DAMPING, **kw)
    # Bullet's sleep timer is state get_state() does not hold: nothing ever sleeps (objects: below).
    p.changeDynamics(body, -1, activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING, **kw)
    # Fingers move together (MuJoCo: an equality constraint finger2 = finger1). Without it two
    # force-saturated fingers hold a cube anywhere between them, and it slides 1 cm off-centre when the
    # hand accelerates along the closing direction. Gear ratio -1: q1 - q2 = 0 (pybullet's panda_sim).
    left, right = (joint_of[n] for n in robot.FINGER_JOINTS)
    gear = p.createConstraint(body, left, body, right, p.JOINT_GEAR, (1, 0, 0), (0, 0, 0), (0, 0, 0), **kw)
    p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50, **kw)

    table = _box(client, TABLE_HALF, (TABLE_CENTER_X, 0.0, -TABLE_HALF[2]), TABLE_RGBA)
    p.changeDynamics(table, -1, lateralFriction=FRICTION_TABLE, **kw)
    p.setCollisionFilterGroupMask(table, -1, TABLE, MASKS[TABLE], **kw)
    _box(client, (3.0, 3.0, 0.01), (0.0, 0.0, FLOOR_Z - 0.01), FLOOR_RGBA, collide=False)

    objects = {spec.name: _add_shape(client, spec.shape, spec.size, spec.rgba, spec.mass, spec.friction)
               for spec in task.objects}
    markers = {spec.name: _add_shape(client, spec.shape, spec.size, spec.rgba, fixture=spec.collide)
               for spec in task.markers}
    for spec in task.markers:
        if spec.collide:  # a fixture (mass 0: static) meets objects and the robot as an object would
            p.setCollisionFilterGroupMask(markers[spec.name], -1, OBJECT, MASKS[OBJECT], **kw)
    for i, body_id in enumerate(objects.values()):
        p.setCollisionFilterGroupMask(body_id, -1, OBJECT, MASKS[OBJECT], **kw)
        p.changeDynamics(body_id, -1, activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING, **kw)
        p.resetBasePositionAndOrientation(body_id, park_position(i).tolist(), (0, 0, 0, 1), **kw)

    return SceneIds(
        client=client, robot=body,
        arm_joints=tuple(joint_of[n] for n in robot.ARM_JOINTS),
        finger_joints=tuple(joint_of[n] for n in robot.FINGER_JOINTS),
        ee_link=link_of[robot.EE_BODY], hand_link=link_of["panda_hand"], link_of=link_of,
        table=table, objects=objects, markers=markers,
    )


def camera_pose(
    spec: CameraSpec, frame_pose: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World position (3,) and rotation (3, 3) of a camera, columns = camera x (right), y (up), z (back):
    the camera looks along its -z, as in OpenGL and MuJoCo."""
    pos, target, up = np.array(spec.pos), np.array(spec.target), np.array(spec.up)
    if frame_pose is not None:
        origin, rot = frame_pose
        pos, target, up = origin + rot @ pos, origin + rot @ target, rot @ up
    return pos, look_at(pos, target, up)


def camera_matrices(
    spec: CameraSpec, width: int, height: int, frame_pose: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[list[float], list[float]]:
    """(view, projection) OpenGL matrices for ``p.getCameraImage``; ``frame_pose`` = (pos, 3x3 rot) of the
    camera's link for a moving camera."""
    pos, target, up = np.array(spec.pos), np.array(spec.target), np.array(spec.up)
    if frame_pose is not None:
        origin, rot = frame_pose
        pos, target, up = origin + rot @ pos, origin + rot @ target, rot @ up
    view = p.computeViewMatrix(pos.tolist(), target.tolist(), up.tolist())
    proj = p.computeProjectionMatrixFOV(spec.fovy, width / height, Z_NEAR, Z_FAR)
    return list(view), list(proj)
