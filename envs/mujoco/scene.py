"""Build the MuJoCo scene (Panda + table + the task's objects and markers + lights + cameras), once per task.

The Panda comes from ``pybullet_data``'s URDF. We rewrite ``package://`` to absolute paths, inject a
``<mujoco><compiler/></mujoco>`` block, and let ``MjSpec`` parse it; then add everything else with the
``MjSpec`` editing API. The URDF's visual OBJs are 1-2 MB each (57k vertices, ~0.2 s to load and slow
to rasterise), so the collision meshes double as visuals: compile takes ~20 ms.

Collision bits (contype/conaffinity), chosen so the cheap cases never reach the narrow phase:
  table 1/1, objects 3/3, hand+fingers 1/1, arm links 2/0 (arm touches the objects only, never the
  table it stands on or itself); markers 0/0 (visual only, mocap bodies so their poses live in MjData;
  a fixture marker, collide=True, is 3/3: solid but never moved).
Absent pool objects are parked far below the table (``park_position``); the env re-pins them every step.
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from envs import robot
from envs.scene_spec import CAMERAS, MAX_RENDER_SIZE, TABLE_CENTER_X, TABLE_HALF, look_at, park_position
from envs.tasks import Task, get_task
from envs.tasks.base import SHAPES, tee_boxes

PHYSICS_DT = 0.002  # s; 25 substeps -> 20 Hz control

# Arm servos: position actuators, kp (N m / rad) and kv (N m s / rad) per joint. kv ~ 2 sqrt(kp M_ii)
# with M the joint-space inertia at home (2.1, 2.7, 2.1, 1.8, 0.9, 0.8, 0.7 kg m^2): near critical
# damping, so the end effector settles on an ee_delta target without overshoot (kv = 40 everywhere left
# the shoulder at damping ratio ~0.3: 1-2 cm overshoot, and the PushT expert's placement oscillated).
# The shoulder and elbow get the higher kp, so a full-speed move lags the target by < 3 cm, as in
# PyBullet (envs/pybullet/scene.py: same ee_delta commands within ~1.5 cm); the wrist keeps 1500, its
# 12 N m effort limit saturates early and more gain only adds yaw overshoot. Damping lives in the
# actuator, not the joint: joint damping with the 12 N m limit would cap wrist speed at 12 / damping.
ARM_KP: tuple[float, ...] = (3000.0, 3000.0, 3000.0, 3000.0, 1500.0, 1500.0, 1500.0)
ARM_KV: tuple[float, ...] = (110.0, 130.0, 110.0, 100.0, 75.0, 70.0, 65.0)
# Gripper: kp on finger 1 (finger 2 follows through the equality constraint); 1500 N/m saturates the
# 20 N force limit before the fingers meet, so a grasp squeezes at full force (300 N/m: ~5 N, and the
# 3 cm T slid out of the fingers as the hand lifted).
FINGER_KP = 1500.0
FINGER_FORCE = 20.0  # N, gripper actuator force limit
HAND_FRICTION = (1.0, 0.005, 0.0001)  # sliding, torsional (m), rolling (m): hand and arm links
# Finger pads: condim 4 adds torsional friction about the contact normal (2 cm patch), so a T held
# off its centroid does not pivot about the grasp axis; a stiffer contact (solref time constant 10 ms,
# 5 x dt) sinks the pads less into the object. MuJoCo takes the larger friction of the two geoms.
FINGER_FRICTION = (1.0, 0.02, 0.0001)
FINGER_CONDIM = 4
FINGER_SOLREF = (0.01, 1.0)
FINGER_SOLIMP = (0.9, 0.95, 0.001, 0.5, 2.0)
# Elliptic cones with impratio 10 make friction ~10x stiffer than the normal direction: held objects
# creep less in the soft contact model (MuJoCo's recommendation for grasping).
IMPRATIO = 10.0
NOSLIP_ITERATIONS = 0

def _camera_quat(name: str) -> tuple[list[float], list[float]]:
    """Position and quaternion (wxyz) of camera ``name`` of ``envs.scene_spec.CAMERAS`` in its frame."""
    cam = CAMERAS[name]
    pos = np.array(cam.pos)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, look_at(pos, np.array(cam.target), np.array(cam.up)).reshape(-1))
    return pos.tolist(), quat.tolist()


def _panda_spec() -> mujoco.MjSpec:
    root = robot.panda_dir()
    urdf = robot.panda_urdf().read_text()
    urdf = urdf.replace("package://meshes/visual/", "package://meshes/collision/")
    urdf = urdf.replace("package://", f"{root}/")
    # discardvisual: <visual> and <collision> name the same meshes now; keep one geom per link.
    compiler = '<mujoco><compiler discardvisual="true" fusestatic="false" balanceinertia="true"/></mujoco>'
    start = urdf.index(">", urdf.index("<robot")) + 1
    spec = mujoco.MjSpec.from_string(urdf[:start] + compiler + urdf[start:])
    # The URDF is parsed now; keep discardvisual on and the compiler would also drop our own
    # non-colliding geoms (target marker, floor) at compile time.
    spec.compiler.discardvisual = False
    return spec


def _add_robot_details(spec: mujoco.MjSpec) -> None:
    white, grey = [0.92, 0.92, 0.95, 1.0], [0.25, 0.25, 0.28, 1.0]
    for body in spec.bodies:
        if not body.name.startswith("panda_"):
            continue
        body.gravcomp = 1.0  # ideal gravity compensation, as on the real Panda's torque controller
        is_hand = body.name in robot.HAND_BODIES
        for geom in body.geoms:
            geom.group = 0  # collision meshes double as visuals
            geom.rgba = grey if (is_hand or body.name in ("panda_link7",)) else white
            geom.contype, geom.conaffinity = (1, 1) if is_hand else (2, 0)
            geom.friction = list(HAND_FRICTION)
            if body.name in ("panda_leftfinger", "panda_rightfinger"):
                geom.friction = list(FINGER_FRICTION)
                geom.condim = FINGER_CONDIM
                geom.solref = list(FINGER_SOLREF)
                geom.solimp = list(FINGER_SOLIMP)
    for name, kp, kv in zip(robot.ARM_JOINTS, ARM_KP, ARM_KV, strict=True):
        joint = spec.joint(name)
        joint.damping = [1.0, 0.0, 0.0]  # mujoco 4: (linear, higher-order) coefficients
        joint.armature = 0.1
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=kp, kv=kv)
        act.ctrlrange = joint.range
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for name in robot.FINGER_JOINTS:
        spec.joint(name).damping = [5.0, 0.0, 0.0]
        spec.joint(name).armature = 0.05
    # Fingers move together: finger2 = finger1 (polycoef 0, 1).
    spec.add_equality(
        type=mujoco.mjtEq.mjEQ_JOINT, name1=robot.FINGER_JOINTS[1], name2=robot.FINGER_JOINTS[0],
        data=[0.0, 1.0, 0.0, 0.0, 0.0] + [0.0] * 7,
    )
    grip = spec.add_actuator(name="gripper", target=robot.FINGER_JOINTS[0], trntype=mujoco.mjtTrn.mjTRN_JOINT)
    grip.set_to_position(kp=FINGER_KP)
    grip.ctrlrange = [robot.FINGER_CLOSED, robot.FINGER_OPEN]
    grip.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    grip.forcerange = [-FINGER_FORCE, FINGER_FORCE]
    grip.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.add_exclude(bodyname1="panda_leftfinger", bodyname2="panda_rightfinger")
    spec.body(robot.EE_BODY).add_site(name="ee", size=[0.005, 0, 0], rgba=[0, 0, 0, 0], group=3)
    for name, cam in CAMERAS.items():  # cameras that ride on a robot link (the wrist camera)
        if cam.frame is not None:
            pos, quat = _camera_quat(name)
            spec.body(cam.frame).add_camera(name=name, pos=pos, quat=quat, fovy=cam.fovy)


def _add_world(spec: mujoco.MjSpec) -> None:
    world = spec.worldbody
    # Gradient skybox for pretty frames (observation frames switch the skybox off).
    spec.add_texture(
        name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX, builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.75, 0.82, 0.9], rgb2=[0.25, 0.3, 0.38], width=256, height=256,
    )
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.45, 0.45, 0.45]
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, -0.75],
                   rgba=[0.35, 0.37, 0.4, 1], contype=0, conaffinity=0)
    world.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(TABLE_HALF),
        pos=[TABLE_CENTER_X, 0.0, -TABLE_HALF[2]], rgba=[0.62, 0.5, 0.38, 1], contype=1, conaffinity=1,
        friction=[0.5, 0.005, 0.0001],
    )
    world.add_light(name="key", pos=[0.6, -0.4, 1.6], dir=[-0.1, 0.3, -1.0], castshadow=True,
                    diffuse=[0.5, 0.5, 0.5], specular=[0.2, 0.2, 0.2])
    for name, cam in CAMERAS.items():  # fixed cameras (envs.scene_spec)
        if cam.frame is None:
            pos, quat = _camera_quat(name)
            world.add_camera(name=name, pos=pos, quat=quat, fovy=cam.fovy)


def _add_geoms(body: mujoco.MjsBody, shape: str, size: tuple[float, ...], rgba: list[float],
               collide: bool, **kwargs: object) -> None:
    bits = (3, 3) if collide else (0, 0)
    common = {"rgba": rgba, "contype": bits[0], "conaffinity": bits[1], **kwargs}
    if shape == "box":
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=list(size), **common)
    elif shape in ("cylinder", "disc"):
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[size[0], size[1], 0], **common)
    elif shape == "sphere":
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[size[0], 0, 0], **common)
    elif shape == "tee":
        for offset, half in tee_boxes(size):
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=half.tolist(), pos=offset.tolist(), **common)
    else:
        raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}")


def _add_task(spec: mujoco.MjSpec, task: Task) -> None:
    """The task's object pool (free bodies) and markers (mocap bodies), parked until a layout places them."""
    world = spec.worldbody
    for i, obj in enumerate(task.objects):
        body = world.add_body(name=obj.name, pos=park_position(i).tolist())
        body.add_freejoint(name=obj.name)
        # Mass split over the geoms (a tee has two) through density-free explicit masses.
        n_geoms = 2 if obj.shape == "tee" else 1
        _add_geoms(body, obj.shape, obj.size, list(obj.rgba), collide=True, mass=obj.mass / n_geoms,
                   friction=[obj.friction, 0.005, 0.0001])
    for j, marker in enumerate(task.markers):
        body = world.add_body(name=marker.name, mocap=True, pos=park_position(len(task.objects) + j).tolist())
        # Discs lie on the table: lift them 1.5 mm so they do not z-fight with its top.
        extra = {"pos": [0.0, 0.0, 0.0015]} if marker.shape == "disc" else {}
        # A fixture (collide) is a solid mocap body: dynamic bodies hit it, physics never moves it.
        _add_geoms(body, marker.shape, marker.size, list(marker.rgba), collide=marker.collide, group=1,
                   **extra)


@functools.cache
def build_model(task: str) -> mujoco.MjModel:
    """Compiled model for ``task``, cached per process. Treat as read-only: envs share it."""
    spec = _panda_spec()
    spec.modelname = f"panda_{task}"
    spec.option.timestep = PHYSICS_DT
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = IMPRATIO
    spec.option.noslip_iterations = NOSLIP_ITERATIONS
    spec.visual.global_.offwidth = MAX_RENDER_SIZE
    spec.visual.global_.offheight = MAX_RENDER_SIZE
    spec.visual.quality.shadowsize = 2048
    spec.stat.center = [0.45, 0.0, 0.2]
    spec.stat.extent = 1.0
    _add_robot_details(spec)
    _add_world(spec)
    _add_task(spec, get_task(task))
    model = spec.compile()
    # Keyframe 0 = home. (Not qpos0: hinge rotations are measured from qpos0, so moving it bends the arm.)
    home = spec.add_key(name="home", qpos=_home_qpos(model).tolist(), ctrl=_home_ctrl(model).tolist())
    del home
    return spec.compile()


def _home_qpos(model: mujoco.MjModel) -> np.ndarray:
    qpos = model.qpos0.copy()
    qpos[: len(robot.HOME_QPOS)] = robot.HOME_QPOS
    for name in robot.FINGER_JOINTS:
        qpos[model.joint(name).qposadr[0]] = robot.FINGER_OPEN
    return qpos


def _home_ctrl(model: mujoco.MjModel) -> np.ndarray:
    ctrl = np.zeros(model.nu)
    ctrl[: len(robot.HOME_QPOS)] = robot.HOME_QPOS
    ctrl[model.actuator("gripper").id] = robot.FINGER_OPEN
    return ctrl
