"""Build the MuJoCo scene (Panda + table + cube + target + lights + cameras), compiled once per process.

The Panda comes from ``pybullet_data``'s URDF. We rewrite ``package://`` to absolute paths, inject a
``<mujoco><compiler/></mujoco>`` block, and let ``MjSpec`` parse it; then add everything else with the
``MjSpec`` editing API. The URDF's visual OBJs are 1-2 MB each (57k vertices, ~0.2 s to load and slow
to rasterise), so the collision meshes double as visuals: compile takes ~20 ms.

Collision bits (contype/conaffinity), chosen so the cheap cases never reach the narrow phase:
  table 1/1, cube 3/3, hand+fingers 1/1, arm links 2/0 (arm touches the cube only, never the table
  it stands on or itself).
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from envs import robot
from envs.tasks import get_task

PHYSICS_DT = 0.002  # s; 25 substeps -> 20 Hz control
CAMERA_NAMES: tuple[str, ...] = ("front", "top", "wrist")
TABLE_HALF = (0.45, 0.6, 0.02)  # m; table top surface at z = 0
TABLE_CENTER_X = 0.35

ARM_KP = 1500.0  # N m / rad, position actuators on the 7 arm joints
ARM_KV = 40.0  # N m s / rad, actuator damping. Joint damping would not do: the URDF's 12 N m effort
# limit on joints 5-7 would cap their speed at 12 / damping rad/s, and the wrist would lag by ~0.5 rad.
FINGER_KP = 300.0


def _look_at(
    pos: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)
) -> np.ndarray:
    """Quaternion of a camera at ``pos`` looking at ``target`` (camera looks along its -z), ``up`` up."""
    back = pos - target
    back = back / np.linalg.norm(back)  # camera z axis
    right = np.cross(np.array(up), back)
    right = right / np.linalg.norm(right)  # camera x axis
    cam_up = np.cross(back, right)  # camera y axis
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.stack([right, cam_up, back], axis=1).reshape(-1))
    return quat


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
            geom.friction = [1.0, 0.005, 0.0001]
    for name in robot.ARM_JOINTS:
        joint = spec.joint(name)
        joint.damping = [1.0, 0.0, 0.0]  # mujoco 4: (linear, higher-order) coefficients
        joint.armature = 0.1
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=ARM_KP, kv=ARM_KV)
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
    grip.forcerange = [-20.0, 20.0]
    grip.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.add_exclude(bodyname1="panda_leftfinger", bodyname2="panda_rightfinger")
    spec.body(robot.EE_BODY).add_site(name="ee", size=[0.005, 0, 0], rgba=[0, 0, 0, 0], group=3)
    # Wrist camera in the hand frame (hand z runs down the fingers): beside the hand, looking past the
    # fingertips (at z = 0.105) to the table below, hand -x up in the image.
    wrist_pos = np.array([0.09, 0.0, 0.03])
    wrist_quat = _look_at(wrist_pos, np.array([0.0, 0.0, 0.2]), up=(1.0, 0.0, 0.0))
    spec.body("panda_hand").add_camera(
        name="wrist", pos=wrist_pos.tolist(), quat=wrist_quat.tolist(), fovy=70.0
    )


def _add_world(spec: mujoco.MjSpec, task: str) -> None:
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
    # front: from the far side of the table looking back at the robot; top: straight down, robot at
    # the bottom of the image (camera x = world -y, camera y = world +x).
    front_quat = _look_at(np.array([1.5, 0.0, 0.85]), np.array([0.35, 0.0, 0.2]))
    world.add_camera(name="front", pos=[1.5, 0.0, 0.85], quat=front_quat.tolist(), fovy=45.0)
    top_quat = np.zeros(4)
    mujoco.mju_mat2Quat(top_quat, np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).reshape(-1))
    world.add_camera(name="top", pos=[0.55, 0.0, 1.5], quat=top_quat.tolist(), fovy=40.0)

    definition = get_task(task)
    # Target: a mocap body, so its pose lives in MjData (per env, in mj_getState) not in the shared model.
    target = world.add_body(name="target", mocap=True, pos=[0.5, 0.0, 0.2])
    if definition.has_cube:
        # A disc of the success radius, lifted 1.5 mm so it does not z-fight with the table top.
        target.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[definition.success_radius, 0.001, 0],
                        pos=[0, 0, 0.0015], rgba=[0.1, 0.8, 0.2, 0.8], contype=0, conaffinity=0)
        half = definition.cube_half
        cube = world.add_body(name="cube", pos=[0.5, 0.0, half])
        cube.add_freejoint(name="cube")
        cube.add_geom(name="cube", type=mujoco.mjtGeom.mjGEOM_BOX, size=[half] * 3, mass=0.1,
                      rgba=[0.85, 0.2, 0.15, 1], contype=3, conaffinity=3, friction=[0.6, 0.005, 0.0001])
    else:
        target.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.015, 0, 0], rgba=[0.1, 0.8, 0.2, 0.8],
                        contype=0, conaffinity=0)
    target.add_site(name="target", size=[0.005, 0, 0], group=3)


@functools.cache
def build_model(task: str) -> mujoco.MjModel:
    """Compiled model for ``task``, cached per process. Treat as read-only: envs share it."""
    spec = _panda_spec()
    spec.modelname = f"panda_{task}"
    spec.option.timestep = PHYSICS_DT
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.visual.global_.offwidth = 1024
    spec.visual.global_.offheight = 1024
    spec.visual.quality.shadowsize = 2048
    spec.stat.center = [0.45, 0.0, 0.2]
    spec.stat.extent = 1.0
    _add_robot_details(spec)
    _add_world(spec, task)
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
