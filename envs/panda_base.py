"""The Panda env skeleton every simulator backend shares: arguments, spaces, reset/step, observations, info.

A backend (``envs/mujoco/panda_env.py``, ``envs/pybullet/panda_env.py``) subclasses ``PandaEnvBase``
and supplies physics, rendering and the controllers' low level (kinematics, servos) through the
abstract methods and the attributes listed on the class; everything a user sees (spaces, reward,
``info``, episode end, validation errors) is defined here once.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from envs import controllers, robot, scene_spec, sim_params
from envs.arm_controller import ArmController
from envs.ik import ee_yaw
from envs.scene_spec import (
    CAMERA_NAMES,
    CAMERAS,
    IMAGE_MODES,
    back_project,
    check_render_size,
    fuse,
    parse_obs_mode,
)
from envs.sim_params import Randomizer, SimParams
from envs.tasks import Layout, Scene, get_task


class PandaEnvBase(gym.Env[dict[str, Any], Any], abc.ABC):
    """Franka Panda on a table; the task (``envs/tasks``) sets objects, reward, success.

    20 Hz control: ``substeps`` physics steps per env step, 0.05 s in every backend.

    ## Tasks

    | task       | success                                                      | reward terms (sum)  |
    |------------|--------------------------------------------------------------|---------------------|
    | reach      | ||target - ee|| < 0.02 m                                     | -d(target, ee)      |
    | push       | ||target - cube||_xy < 0.03 m                                | -d_xy(t,c), -d(c,ee)/2 |
    | pick_place | ||target - cube|| < 0.03 m (target on table or <= 0.2 m up) | -d(t,c), -d(c,ee)/2 |
    | stack      | red cube on blue (< 2 cm xy, +-8 mm z), fingers open         | -d(g,a), -d(a,ee)/2 |
    | push_t     | T covers >= 95% of the target T (``info["coverage"]``)       | min(coverage/0.95, 1) |
    | tabletop   | instruction holds (in zone / on object + released / lifted)  | -d(g,src), -d(src,ee)/2 |
    | push_around| push's, with a wall between cube and target                  | as push             |

    ## Action space (``controller``; scales in ``envs/controllers.py``, IK in ``envs/ik.py``)

    | controller      | space             | entries                                                       |
    |-----------------|-------------------|---------------------------------------------------------------|
    | ``ee_delta``    | Box(-1, 1, (4,))  | dx, dy, dz (1.0 = 0.03 m per step, world axes), gripper       |
    | ``ee_delta_yaw``| Box(-1, 1, (5,))  | dx, dy, dz, dyaw (1.0 = 0.15 rad per step), gripper; PushT    |
    | ``joint_pos``   | Box(-1, 1, (8,))  | 7 absolute joint targets (-1..1 -> joint limits), gripper     |
    | ``joint_vel``   | Box(-1, 1, (8,))  | 7 joint velocities (1.0 = 1 rad/s), gripper                   |
    | ``discrete``    | Discrete(14)      | +x, -x, +y, -y, +z, -z (0.03 m), open, close, then the six    |
    |                 |                   | moves by 0.01 m                                               |

    Gripper: +1 open (0.08 m), -1 closed (0 m). Out-of-range actions are clipped to [-1, 1]; NaN/inf
    raise ``ValueError`` naming the env id and step index. The ee target is clipped to the workspace
    box x [0.25, 0.85], y [-0.4, 0.4], z [0.015, 0.5] m and yaw [-2, 2] rad. Every backend runs the
    same controller code (``envs/arm_controller.py``), so an action means the same in each.

    ## Observation space: ``Dict``, keys chosen by ``obs_mode`` (``+``-joined)

    | key                 | dtype/shape        | content                                                   |
    |---------------------|--------------------|-----------------------------------------------------------|
    | ``state``           | float32 (D,)       | task state; names in ``get_task(task).state_names``       |
    | ``proprio``         | float32 (19,)      | 7 joint pos (rad), 7 joint vel (rad/s), ee xyz (m),       |
    |                     |                    | ee yaw (rad), gripper opening (m)                         |
    | ``rgb/<cam>``       | uint8 (H, W, 3)    | camera image; cams ``front``, ``agentview``, ``top``,     |
    |                     |                    | ``wrist``                                                 |
    | ``depth/<cam>``     | float32 (H, W)     | distance along the optical axis, m                        |
    | ``seg/<cam>``       | int32 (H, W)       | instance ids; names in ``segmentation_names``             |
    | ``points``          | float32 (N, 6)     | world xyz (m) + rgb [0, 1], table cropped,                |
    |                     |                    | N = ``num_points``, fused over ``cameras``                |
    | ``instruction``     | Text (<= 64 chars) | Tabletop's language instruction                           |

    ## Episode end

    ``terminated`` on success (``terminate_on_success``); truncation from ``TimeLimit``. A numerically
    unstable simulation (what counts: the backend's ``_physics_step``) ends the episode with
    ``truncated=True`` and ``info["sim_unstable"] = True`` (the sim is reset to the episode start so
    the observation stays finite). ``get_state()`` / ``set_state()`` restore the simulation exactly:
    replaying the same actions from a restored state repeats the run bit for bit.

    ## Simulator parameters (``envs/sim_params.py``)

    Friction, masses, damping, servo gains, control period, colours, light and camera jitter, the
    same in every backend. ``sim_params`` sets the env's base values (e.g. a system-identification
    file's); ``randomizer`` (``sim2real.randomize``) draws each episode's values from the episode's
    generator after its layout (so layouts do not depend on it). The episode's values are the last
    ``SIZE`` entries of ``get_state()``: ``set_state`` restores them with the rest.

    ## Language splits (Tabletop)

    ``instruction_split`` (``envs/tasks/language_splits.py``) makes episodes draw only the instructions
    of one split: ``seen`` for training, ``unseen_colour_shape`` / ``unseen_verb_object`` /
    ``unseen_paraphrase`` for held-out tests; None (or ``all``) is every instruction, as before.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}  # noqa: RUF012  (gymnasium convention)
    SUBSTEPS: ClassVar[int] = 1  # physics steps per env step (0.05 s), set by each backend

    # Set by the backend's ``_build``:
    controller: ArmController
    segmentation_names: dict[int, str]  # instance id -> name
    _joint_pos: np.ndarray  # (9,) rad / m: 7 arm joints, 2 finger joints (a view, refreshed by physics)
    _joint_vel: np.ndarray  # (9,) rad/s / m/s, same order
    _ee_pos: np.ndarray  # (3,) m, measured end effector
    _ee_rot: np.ndarray  # (3, 3) its rotation, columns = ee axes in world
    _state_dim: int  # length of get_state()
    compute_reward: Callable[[np.ndarray, np.ndarray, Any], np.ndarray]  # set in obs_mode=goal only

    def __init__(
        self,
        task: str,
        obs_mode: str = "state",
        cameras: tuple[str, ...] = ("front",),
        width: int = 84,
        height: int = 84,
        controller: str | None = None,
        num_points: int = scene_spec.NUM_POINTS,
        render_mode: str | None = None,
        render_width: int = 256,
        render_height: int = 256,
        terminate_on_success: bool = True,
        substeps: int | None = None,
        reward: str = "dense",
        sim_params: SimParams | Mapping[str, Any] | None = None,
        randomizer: Randomizer | None = None,
        instruction_split: str | None = None,
    ) -> None:
        self.task = get_task(task)
        if instruction_split is not None:  # Tabletop: draw only one split's instructions (held-out tests)
            self.task = self.task.with_instruction_split(instruction_split)
        self.obs_modes = parse_obs_mode(obs_mode, self.task.has_instruction)
        if "goal" in self.obs_modes and not self.task.goal_space_dim:
            raise ValueError(
                f"obs_mode 'goal': task {self.task.name!r} has no goal-conditioned view (its success is not "
                "a distance between two goal vectors); goal envs: Reach, Push, PickPlace"
            )
        if reward not in scene_spec.REWARDS:
            raise ValueError(f"reward {reward!r} is not one of {list(scene_spec.REWARDS)}")
        self.reward_type = reward
        if "goal" in self.obs_modes:
            self.compute_reward = self.goal_reward
        self._renders = any(mode in self.obs_modes for mode in (*IMAGE_MODES, "points"))
        cameras = scene_spec.check_cameras(cameras)
        substeps = self.SUBSTEPS if substeps is None else substeps
        if min(width, height, render_width, render_height, substeps, num_points) <= 0:
            raise ValueError(
                "width, height, render_width, render_height, substeps and num_points must be positive"
            )
        check_render_size(width, height, "observation image")
        check_render_size(render_width, render_height, "render")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} unsupported; use None or 'rgb_array'")
        self.controller_name = controllers.check_controller(controller or self.task.default_controller)
        self.cameras, self.width, self.height, self.num_points = cameras, width, height, num_points
        self.render_mode, self.render_width, self.render_height = render_mode, render_width, render_height
        self.terminate_on_success, self.substeps = terminate_on_success, substeps
        self.camera_names = CAMERA_NAMES
        self._goal = np.zeros(self.task.goal_dim)  # (goal_dim,) the layout's goal vector
        self._step_index = 0
        self._initial_state = np.zeros(0)
        if sim_params is None or isinstance(sim_params, SimParams):
            self.base_params = sim_params or SimParams()
        else:
            self.base_params = SimParams.from_dict(sim_params, "sim_params")
        self.randomizer = randomizer
        self.params = SimParams()  # this episode's (applied after _build)
        self._params_vector = self.params.to_vector()
        self._physics_substeps = substeps  # substeps x control_period: physics steps per env step
        self._build()
        self._use_params(self.base_params, force=True)
        self.action_space = controllers.action_space(self.controller_name)
        self.observation_space = scene_spec.observation_space(
            self.task, self.obs_modes, cameras, width, height, num_points, max(self.segmentation_names) + 1
        )

    # ------------------------------------------------------------------ backend: physics and rendering
    @abc.abstractmethod
    def _build(self) -> None:
        """Build the simulation for ``self.task``; set ``controller`` and the attributes above."""

    @abc.abstractmethod
    def _reset_sim(self, layout: Layout) -> None:
        """Home posture, gripper open, ``layout`` placed (absent objects parked), controller reset."""

    @abc.abstractmethod
    def _physics_step(self) -> bool:
        """Drive the servos to the controller's targets for one env step; refresh what observations
        read. Returns whether the simulation became numerically unstable."""

    @abc.abstractmethod
    def _read_pool(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Poses (7,) xyz + quaternion wxyz of every pool object and marker, by name."""

    @abc.abstractmethod
    def _render_images(self, camera: str, width: int, height: int, modes: tuple[str, ...]) -> dict[str, Any]:
        """Observation images of ``camera`` for ``modes`` (a subset of ``IMAGE_MODES``), by mode."""

    @abc.abstractmethod
    def _render_pretty(self, camera: str, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 video frame (shadows, sky) of ``camera``."""

    @abc.abstractmethod
    def _camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) and rotation (3, 3) (columns: right, up, backwards) of a camera."""

    @abc.abstractmethod
    def _apply_params(self, params: SimParams) -> None:
        """Write ``params`` into the simulation (physics and rendering); ``_physics_substeps`` is set."""

    @abc.abstractmethod
    def get_state(self) -> np.ndarray:
        """(``_state_dim``,) float64: everything ``set_state`` needs to repeat the run bit for bit."""

    @abc.abstractmethod
    def _load_state(self, state: np.ndarray) -> None:
        """Restore a ``get_state`` vector (shape already checked)."""

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        layout = self.task.sample_layout(self.np_random)
        if self.randomizer is not None:  # drawn after the layout: a layout never depends on it
            self._use_params(self.randomizer(self.np_random, self.base_params))
        elif self.params is not self.base_params:
            self._use_params(self.base_params)
        self._goal = np.asarray(layout.goal, dtype=np.float64).reshape(self.task.goal_dim).copy()
        self._reset_sim(layout)
        self._step_index = 0
        self._initial_state = self.get_state()
        scene = self._scene()
        info = {"is_success": self.task.is_success(scene), **self.task.metrics(scene)}
        # The exact simulator state rides in the info: a vector env in other processes then returns
        # it with the step, instead of a second round trip per step to ask for it.
        return self._get_obs(scene), {**info, "sim_state": self._initial_state}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        a = controllers.validate_action(self.controller_name, action, self._name(), self._step_index)
        self.controller.apply(a, self._ee_pos, ee_yaw(self._ee_rot))
        unstable = self._physics_step()
        self._step_index += 1
        if unstable:
            self.set_state(self._initial_state)  # back to the episode start: a finite, valid observation
        task, scene = self.task, self._scene()
        terms = task.reward_terms(scene)
        success = not unstable and task.is_success(scene)
        info: dict[str, Any] = {"is_success": success, "sim_unstable": unstable, **terms}
        info.update(task.metrics(scene))
        info["sim_state"] = self.get_state()
        terminated = success and self.terminate_on_success
        obs = self._get_obs(scene)
        if "goal" in self.obs_modes:  # the reward HER recomputes for substituted goals, exactly
            reward = float(self.goal_reward(obs["achieved_goal"], obs["desired_goal"], info))
        elif self.reward_type == "sparse":
            reward = 0.0 if success else -1.0
        else:
            reward = float(sum(terms.values()))
        return obs, reward, terminated, unstable, info

    def goal_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Reward for (batches of) goals, as gymnasium-robotics' goal envs define it: sparse -1 until
        the goal is within ``success_radius``, then 0; dense minus the distance. Vectorised over leading
        axes (HER relabels whole batches). It is the env's ``compute_reward`` in obs_mode=goal only:
        checkers (SB3's check_env) take any env with a ``compute_reward`` for a goal env."""
        distance = self.task.goal_distance(achieved_goal, desired_goal)
        if self.reward_type == "sparse":
            return -(distance >= self.task.success_radius).astype(np.float32)
        return -distance.astype(np.float32)

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_width, self.render_height)

    # ------------------------------------------------------------------ workbench extras
    def render_camera(self, camera: str, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 frame with the pretty settings (shadows), any camera."""
        _check_camera(camera)
        check_render_size(width, height)
        return self._render_pretty(camera, width, height)

    def render_obs(self, mode: str, camera: str, width: int, height: int) -> np.ndarray:
        """One observation image (``rgb``, ``depth`` or ``seg``) of any camera at any size."""
        _check_camera(camera)
        check_render_size(width, height)
        if mode not in IMAGE_MODES:
            raise ValueError(f"render_obs mode must be rgb, depth or seg, got {mode!r}")
        out: np.ndarray = self._render_images(camera, width, height, (mode,))[mode]
        return out

    def camera_matrices(self, camera: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Pinhole intrinsics K (3, 3) of ``camera`` rendering ``width`` x ``height`` images and its pose
        T_world_cam (4, 4), both in OpenCV's convention (x right, y down, z forward; pixel (0, 0) is
        the centre of the top-left pixel), where the camera is now (the wrist camera moves)."""
        _check_camera(camera)
        f = 0.5 * height / np.tan(np.deg2rad(self.fovy(camera)) / 2)  # px, square pixels
        intrinsics = np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])
        pos, rot = self._camera_pose(camera)
        pose = np.eye(4)
        pose[:3, :3] = rot @ np.diag([1.0, -1.0, -1.0])  # OpenGL (right, up, back) -> (right, down, fwd)
        pose[:3, 3] = pos
        return intrinsics, pose

    def object_poses(self) -> dict[str, np.ndarray]:
        """World poses (7,) xyz (m) + quaternion wxyz of every pool object and marker, by name."""
        objects, markers = self._read_pool()
        return {name: np.array(pose, dtype=np.float64) for name, pose in {**objects, **markers}.items()}

    def observe_with(self, positions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The task's vector observations (``state``; the goal view's ``observation`` and
        ``achieved_goal``) as they read now with the named objects' positions replaced by
        ``positions`` (name -> (3,) world xyz): the hook perception in the loop uses to put an estimate
        in place of the simulator's truth. Rewards and success stay the simulator's."""
        scene = self._scene()
        objects = {name: np.array(pose, dtype=np.float64) for name, pose in scene.objects.items()}
        for name, xyz in positions.items():
            if name not in objects:
                raise ValueError(f"{self._name()} has no object {name!r}; its objects: {sorted(objects)}")
            objects[name][:3] = xyz
        seen = Scene(ee=np.array(scene.ee), ee_yaw=scene.ee_yaw, gripper=scene.gripper, objects=objects,
                     markers=scene.markers, goal=scene.goal)  # fmt: skip
        out: dict[str, np.ndarray] = {}
        if "state" in self.obs_modes:
            out["state"] = self.task.state(seen)
        if "goal" in self.obs_modes:
            out["observation"] = self.task.goal_observation(seen)
            out["achieved_goal"] = self.task.achieved_goal(seen)
        return out

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self._state_dim,):
            raise ValueError(f"{self._name()}: state must have shape ({self._state_dim},), got {state.shape}")
        self._use_params_vector(state[-sim_params.SIZE :])
        self._load_state(state)

    def hold_action(self) -> np.ndarray:
        """The action that leaves the robot as it is now, gripper as it is (what a delayed controller
        executes before the first command arrives)."""
        gripper_open = float(self._joint_pos[7] + self._joint_pos[8]) > robot.FINGER_OPEN
        return controllers.hold_action(self.controller_name, self.controller.q_target, gripper_open)

    def _use_params(self, params: SimParams, force: bool = False) -> None:
        vector = params.to_vector()
        changed = force or not np.array_equal(vector, self._params_vector)
        self.params = params
        if changed:
            self._params_vector = vector
            self._physics_substeps = max(1, round(self.substeps * params.control_period))
            self._apply_params(params)

    def _use_params_vector(self, vector: np.ndarray) -> None:
        if not np.array_equal(vector, self._params_vector):
            self._use_params(SimParams.from_vector(vector))

    def fovy(self, camera: str) -> float:
        """Vertical field of view (degrees) of ``camera`` in this episode."""
        return CAMERAS[camera].fovy + self.params.fov_delta

    # ------------------------------------------------------------------ internals
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else f"{type(self).__name__}(task={self.task.name!r})"

    def _scene(self) -> Scene:
        objects, markers = self._read_pool()
        q = self._joint_pos
        return Scene(
            ee=self._ee_pos, ee_yaw=ee_yaw(self._ee_rot), gripper=float(q[7] + q[8]),
            objects=objects, markers=markers, goal=self._goal,
        )

    def _get_obs(self, scene: Scene | None = None) -> dict[str, Any]:
        scene = scene or self._scene()
        modes = self.obs_modes
        obs: dict[str, Any] = {}
        if "goal" in modes:
            obs["observation"] = self.task.goal_observation(scene)
            obs["achieved_goal"] = self.task.achieved_goal(scene)
            obs["desired_goal"] = self.task.desired_goal(scene)
        if "state" in modes:
            obs["state"] = self.task.state(scene)
        if "proprio" in modes:
            proprio = np.empty(scene_spec.PROPRIO_DIM, dtype=np.float32)
            proprio[0:7] = self._joint_pos[:7]
            proprio[7:14] = self._joint_vel[:7]
            proprio[14:17] = scene.ee
            proprio[17] = scene.ee_yaw
            proprio[18] = scene.gripper
            obs["proprio"] = proprio
        if self._renders:
            self._camera_obs(obs)
        if "instruction" in modes:
            obs["instruction"] = self.task.instruction(scene.goal)
        return obs

    def _camera_obs(self, obs: dict[str, Any]) -> None:
        """Add the image keys of every camera and the fused point cloud to ``obs``."""
        modes, points = self.obs_modes, "points" in self.obs_modes
        # a point cloud back-projects the depth image and colours it from the rgb one
        wanted = tuple(m for m in IMAGE_MODES if m in modes or (points and m != "seg"))
        clouds = []
        for cam in self.cameras:
            images = self._render_images(cam, self.width, self.height, wanted)
            for mode in IMAGE_MODES:
                if mode in modes:
                    obs[f"{mode}/{cam}"] = images[mode]
            if points:
                pos, rot = self._camera_pose(cam)
                clouds.append(back_project(images["depth"], images["rgb"], pos, rot, self.fovy(cam)))
        if points:
            obs["points"] = fuse(clouds, self.num_points)


def _check_camera(camera: str) -> None:
    if camera not in CAMERA_NAMES:
        raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(CAMERA_NAMES)}")
