"""What a task is, independent of the simulator: objects, layout sampling, state, reward, success, expert.

## Contract between a task and a simulator backend

A task is plain data plus numpy functions. A backend (``envs/mujoco``, ``envs/pybullet``) owns physics,
rendering and the controllers; it talks to the task only through the types in this module:

1. **At construction** the backend builds the *pool*: every object in ``task.objects`` (rigid, dynamic,
   colliding; ``ObjectSpec``: shape, size, colour, mass, friction) and every marker in ``task.markers``
   (visual only, kinematic, no collision: targets, goal zones, the PushT target outline; a marker with
   ``collide=True`` is a *fixture*: kinematic and static, but solid, e.g. an obstacle). Shapes and
   their ``size`` conventions are listed in ``SHAPES``; ``tee_boxes`` turns a ``"tee"`` into boxes so
   both backends build the same T. Objects and markers keep the pool order; it defines instance ids.
2. **At reset** the backend calls ``layout = task.sample_layout(self.np_random)`` and places every
   object in ``layout.objects`` (name -> ``Pose``: centre position in metres, yaw about world z,
   zero linear/angular velocity) and every marker in ``layout.markers``. Objects of the pool that the
   layout does not list are *absent* this episode: the backend parks them out of sight (MuJoCo parks
   them far below the table, see ``PARK_Z``) and must report them with ``z < PARK_Z / 2`` in the
   scene, so tasks can tell present from absent objects. Same seed -> same layout in every backend.
   ``layout.goal`` is a small float vector of episode parameters that are not physical (instruction
   ids for Tabletop); the backend stores it and returns it in every ``Scene`` and in ``get_state``.
3. **Every step** the backend builds a ``Scene`` (end-effector position and yaw, gripper opening,
   object and marker poses as ``(7,)`` = position xyz + quaternion *wxyz*, and the goal) and asks the
   task for ``state(scene)`` (the ``state`` observation), ``reward_terms(scene)`` (reward = sum),
   ``is_success(scene)``, ``metrics(scene)`` (extra ``info`` entries, e.g. PushT ``coverage``) and,
   where ``task.has_instruction``, ``instruction(goal)`` (the ``instruction`` observation).
4. **Experts** are ``task.expert_action(state)``: a pure function of batched ``state`` observations
   returning ``(B, 5)`` actions for the ``ee_delta_yaw`` controller (x, y, z, yaw, gripper) with the
   scales in ``envs/controllers.py``; ``envs.experts.ScriptedExpert`` drops the yaw entry for
   ``ee_delta``. ``task.expert_controllers`` lists the controllers the expert can drive
   (``envs.check_expert_controller`` refuses the others). Backends never special-case a task.

Conventions: metres, radians, world frame with z up and z = 0 the table surface (``envs/robot.py``).
The end-effector yaw is 0 at the home posture (fingers along world y) and grows counter-clockwise
seen from above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# shape -> meaning of ObjectSpec.size / MarkerSpec.size (all metres)
SHAPES: dict[str, str] = {
    "box": "(hx, hy, hz) half extents",
    "cylinder": "(radius, half_height), axis along z",
    "sphere": "(radius,)",
    "tee": "(bar_half_length, arm_half_width, stem_half_length, half_height): see tee_boxes",
    "disc": "(radius, half_height): markers only, a flat cylinder",
}
PARK_Z = -2.0  # m; absent objects are parked at z <= PARK_Z (far below the table and out of view)


@dataclass(frozen=True)
class ObjectSpec:
    """A dynamic rigid object the task may place (one free body)."""

    name: str
    shape: str  # a key of SHAPES
    size: tuple[float, ...]
    rgba: tuple[float, float, float, float]
    mass: float = 0.1  # kg
    friction: float = 0.6  # sliding friction coefficient


@dataclass(frozen=True)
class MarkerSpec:
    """A kinematically placed body: visual only (target point, goal zone, outline), or with ``collide``
    a fixture that objects and the robot hit but never move (an obstacle; not drawn in any hidden group)."""

    name: str
    shape: str  # a key of SHAPES
    size: tuple[float, ...]
    rgba: tuple[float, float, float, float]
    collide: bool = False


@dataclass(frozen=True)
class Pose:
    """Centre position (3,) in metres and yaw about world z in radians."""

    pos: np.ndarray
    yaw: float = 0.0


@dataclass(frozen=True)
class Layout:
    """One episode's initial placement. Unlisted objects are absent (parked); unlisted markers hidden."""

    objects: dict[str, Pose] = field(default_factory=dict)
    markers: dict[str, Pose] = field(default_factory=dict)
    goal: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (goal_dim,) float64


@dataclass(slots=True)
class Scene:
    """What the backend reads from its simulator each step; what tasks compute from.

    Built once per env step, so it is a slotted (not frozen) dataclass. Arrays may be views into
    simulator buffers: read them, do not keep them. Poses are (7,): xyz (m) + quaternion wxyz.
    """

    ee: np.ndarray  # (3,) end effector (between the fingertips), m
    ee_yaw: float  # rad, 0 at home
    gripper: float  # finger opening, m (0 closed .. 0.08 open)
    objects: dict[str, np.ndarray]  # every pool object, absent ones at z <= PARK_Z
    markers: dict[str, np.ndarray]  # every pool marker
    goal: np.ndarray  # (goal_dim,) the layout's goal vector
    cache: dict[str, float] = field(default_factory=dict)  # tasks memoise per-step derived values here


@dataclass(frozen=True)
class Task:
    """Base task definition. Subclasses set the fields and override the methods."""

    name: str = ""
    objects: tuple[ObjectSpec, ...] = ()
    markers: tuple[MarkerSpec, ...] = ()
    goal_dim: int = 0
    has_instruction: bool = False
    max_instruction_length: int = 64
    default_controller: str = "ee_delta"
    # Controllers the scripted expert's actions can drive (it computes ee_delta_yaw actions; ee_delta
    # drops the yaw entry, which only tasks whose expert never turns the hand can afford).
    expert_controllers: tuple[str, ...] = ("ee_delta", "ee_delta_yaw")
    success_radius: float = 0.02  # m
    max_episode_steps: int = 50
    state_names: tuple[str, ...] = ()  # one name per state entry
    # Goal-conditioned view (obs_mode=goal, for HER): the goal the episode reached and the one it was
    # asked for, as vectors, with success = goal_distance < success_radius. 0: the task's success is
    # not a distance between two such vectors (Stack, PushT, Tabletop) and it has no goal view.
    goal_space_dim: int = 0

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def goal_observation_index(self) -> tuple[int, ...]:
        """Indices of ``state`` kept in the goal view's ``observation``: every entry but those naming
        the desired goal (``target*``). HER relabels ``desired_goal``; an observation that still
        carried the episode's own target would contradict the relabelled goal (gymnasium-robotics'
        goal envs leave the goal out of ``observation`` for the same reason)."""
        return tuple(i for i, name in enumerate(self.state_names) if not name.startswith("target"))

    def goal_observation(self, scene: Scene) -> np.ndarray:
        """(len(goal_observation_index),) float32: ``state`` without the desired goal."""
        return self.state(scene)[list(self.goal_observation_index)]

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        raise NotImplementedError

    def state(self, scene: Scene) -> np.ndarray:
        """(state_dim,) float32 task state; layout in ``state_names``."""
        raise NotImplementedError

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        """Named reward terms; the reward is their sum (weights already applied)."""
        raise NotImplementedError

    def is_success(self, scene: Scene) -> bool:
        raise NotImplementedError

    def metrics(self, scene: Scene) -> dict[str, float]:
        """Extra ``info`` entries (not rewards), e.g. PushT's ``coverage``."""
        return {}

    def achieved_goal(self, scene: Scene) -> np.ndarray:
        """(goal_space_dim,) where the task's subject is (the hand for Reach, the cube otherwise)."""
        raise NotImplementedError(f"task {self.name!r} has no goal-conditioned view")

    def desired_goal(self, scene: Scene) -> np.ndarray:
        """(goal_space_dim,) where the episode asks it to be."""
        raise NotImplementedError(f"task {self.name!r} has no goal-conditioned view")

    def goal_distance(self, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """(...,) Euclidean distance over the last axis; vectorised for HER's relabelled batches."""
        return np.asarray(np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1))

    # Rewards over batches of states, for planners (model-based RL imagines states, not scenes). Arrays
    # are numpy or torch, (..., state_dim); they equal the env's reward of arriving in the state (up to
    # the state's float32 rounding; tests/envs/test_state_reward.py).
    def state_reward_terms(self, states: Any) -> dict[str, Any]:
        """``reward_terms`` of (..., state_dim) states, each (...,)."""
        raise NotImplementedError(f"task {self.name!r} has no reward over states")

    def state_success(self, states: Any) -> Any:
        """(...,) bool: ``is_success`` of (..., state_dim) states."""
        raise NotImplementedError(f"task {self.name!r} has no reward over states")

    def state_reward(self, states: Any, reward: str = "dense") -> Any:
        """(...,) the env's ``reward`` (dense: the terms' sum; sparse: 0 on success, else -1)."""
        if reward == "sparse":
            return self.state_success(states) * 1.0 - 1.0
        terms = list(self.state_reward_terms(states).values())
        return sum(terms[1:], terms[0])

    @property
    def has_state_reward(self) -> bool:
        return type(self).state_reward_terms is not Task.state_reward_terms

    def instruction(self, goal: np.ndarray) -> str:
        """Language instruction of an episode (tasks with ``has_instruction``)."""
        return ""

    def with_instruction_split(self, split: str) -> Task:
        """This task drawing only the instructions of ``split`` (tasks with held-out compositions)."""
        raise ValueError(
            f"task {self.name!r} has no instruction splits; instruction_split applies to Tabletop"
        )

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        """Scripted expert: (B, state_dim) -> (B, 5) ``ee_delta_yaw`` actions in [-1, 1]. Pure function."""
        raise NotImplementedError

    # Multimodal experts: the expert draws one of ``expert_modes`` strategies per episode (hidden from
    # the state, so demonstrations of one state disagree) and acts as a pure function of state and mode.
    expert_modes: int = 1

    def expert_action_in_mode(self, state: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """(B, state_dim) states and (B,) int modes in [0, expert_modes) -> (B, 5) actions."""
        return self.expert_action(state)


# ---------------------------------------------------------------------------------------- helpers
def ee_pair_state(scene: Scene, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(16,) float32 state of a task about two points (Push's cube and target, Stack's two cubes):
    ee xyz, gripper, first, second, first - ee, second - first."""
    out = np.empty(16, dtype=np.float32)
    out[0:3] = scene.ee
    out[3] = scene.gripper
    out[4:7] = first
    out[7:10] = second
    out[10:13] = first - scene.ee
    out[13:16] = second - first
    return out


def vnorm(v: Any) -> Any:
    """Euclidean norm over the last axis of a numpy array or torch tensor."""
    return (v * v).sum(-1) ** 0.5


def norm(v: np.ndarray) -> float:
    """Euclidean norm of a small vector; ~5x cheaper than np.linalg.norm, which matters per env step."""
    return math.sqrt(v @ v)


def yaw_of(pose: np.ndarray) -> float:
    """Yaw (rad) about world z of a (7,) pose xyz + quaternion wxyz."""
    w, x, y, z = pose[3:7].tolist()  # Python floats: math is ~5x cheaper than numpy on scalars
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def yaw_quat(yaw: float) -> np.ndarray:
    """(4,) quaternion wxyz of a rotation by ``yaw`` about world z."""
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def tee_boxes(size: tuple[float, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The T as two boxes ``(offset (3,), half extents (3,))`` in the body frame.

    The bar runs along body x at the top (+y) of the T, the stem hangs from its middle towards -y.
    The body origin is the T's area centroid, so yaw rotates it in place.
    """
    bar_half, arm_half, stem_half, half_h = size
    bar_area, stem_area = (2 * bar_half) * (2 * arm_half), (2 * arm_half) * (2 * stem_half)
    bar_y, stem_y = stem_half + arm_half, 0.0  # with the stem centred at y = 0 before centring
    centroid_y = (bar_area * bar_y + stem_area * stem_y) / (bar_area + stem_area)
    return [
        (np.array([0.0, bar_y - centroid_y, 0.0]), np.array([bar_half, arm_half, half_h])),
        (np.array([0.0, stem_y - centroid_y, 0.0]), np.array([arm_half, stem_half, half_h])),
    ]


def saturate(displacement: np.ndarray, step_max: float, gain: float = 1.0) -> np.ndarray:
    """Proportional control saturated per axis: the action that covers ``gain * displacement``.

    (B, k) displacement -> (B, k) action in [-1, 1]. A gain < 1 leaves room for the arm's tracking lag
    so the end effector settles instead of overshooting and chattering around the goal.
    """
    return np.clip(gain * displacement / step_max, -1.0, 1.0)


def present(pose: np.ndarray) -> bool:
    """Whether a scene object is in play (not parked)."""
    return bool(pose[2] > PARK_Z / 2)
