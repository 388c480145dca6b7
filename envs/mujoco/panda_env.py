"""The MuJoCo Panda environment behind ``wb/Reach-mujoco-v0`` and ``wb/Push-mujoco-v0``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs import robot
from envs.controllers import EEDeltaController
from envs.mujoco.scene import CAMERA_NAMES, build_model
from envs.tasks import Scene, get_task

OBS_MODES: tuple[str, ...] = ("state", "proprio", "rgb")
STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION  # qpos, qvel, act, ctrl, mocap, warmstart, time, ...
_BADQPOS = int(mujoco.mjtWarning.mjWARN_BADQPOS)
_BADQVEL = int(mujoco.mjtWarning.mjWARN_BADQVEL)
_BADQACC = int(mujoco.mjtWarning.mjWARN_BADQACC)


def parse_obs_mode(obs_mode: str) -> tuple[str, ...]:
    parts = tuple(obs_mode.split("+"))
    bad = [p for p in parts if p not in OBS_MODES]
    if bad or len(set(parts)) != len(parts):
        raise ValueError(
            f"invalid obs_mode {obs_mode!r}: use one or more of {', '.join(OBS_MODES)} joined by '+', "
            "each at most once (e.g. 'state', 'rgb+proprio')"
        )
    return parts


class PandaMujocoEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Franka Panda on a table, end-effector delta control, MuJoCo physics.

    Tasks: ``reach`` (move the end effector to a floating target) and ``push`` (push a 5 cm cube to a
    target on the table). Physics dt 0.002 s, ``substeps`` = 25 per env step (20 Hz control, 0.05 s per step).

    ## Action space: ``Box(-1, 1, (4,), float32)``

    | idx | meaning                              | scale                                   |
    |-----|--------------------------------------|-----------------------------------------|
    | 0-2 | ee target delta along world x, y, z  | 1.0 = 0.03 m per env step               |
    | 3   | gripper                              | +1 open (0.08 m), -1 closed (0 m)       |

    Out-of-range actions are clipped to [-1, 1]; NaN/inf raise ``ValueError`` (env id, step index).
    The target is clipped to the workspace box x [0.25, 0.85], y [-0.4, 0.4], z [0.015, 0.5] m.

    ## Observation space: ``Dict``, keys chosen by ``obs_mode`` (``+``-joined)

    | key            | dtype/shape     | content (metres, rad, rad/s)                                    |
    |----------------|-----------------|-----------------------------------------------------------------|
    | ``state``      | float32 (10,)   | reach: ee xyz, gripper opening, target xyz, target-ee xyz       |
    |                | float32 (16,)   | push: ee xyz, gripper, cube xyz, target xyz, cube-ee, target-cube|
    | ``proprio``    | float32 (18,)   | 7 joint pos, 7 joint vel, ee xyz, gripper opening               |
    | ``rgb/<cam>``  | uint8 (H, W, 3) | camera image; cams ``front``, ``top``, ``wrist``                 |

    Names of each ``state`` entry: ``envs.tasks.get_task(task).state_names``.

    ## Rewards (terms in ``info``, reward = their sum)

    - reach: ``reward_dist`` = -||target - ee||
    - push: ``reward_dist`` = -||target_xy - cube_xy||, ``reward_near`` = -0.5 ||cube - ee||

    ## Success (``info["is_success"]``; terminates when ``terminate_on_success``)

    - reach: ||target - ee|| < 0.02 m;  push: ||target_xy - cube_xy|| < 0.03 m

    Truncation comes from ``TimeLimit`` (registration). A numerically unstable simulation ends the
    episode with ``truncated=True`` and ``info["sim_unstable"] = True`` (the sim is reset to home so the
    observation stays finite). ``get_state()`` / ``set_state()`` restore the simulation exactly.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}  # noqa: RUF012  (gymnasium convention)

    def __init__(
        self,
        task: str,
        obs_mode: str = "state",
        cameras: tuple[str, ...] = ("front",),
        width: int = 84,
        height: int = 84,
        render_mode: str | None = None,
        render_width: int = 256,
        render_height: int = 256,
        terminate_on_success: bool = True,
        substeps: int = 25,
    ) -> None:
        self.task = get_task(task)
        self.obs_modes = parse_obs_mode(obs_mode)
        cameras = tuple(cameras)
        unknown = [c for c in cameras if c not in CAMERA_NAMES]
        if unknown or not cameras:
            raise ValueError(f"invalid cameras {cameras!r}: choose from {', '.join(CAMERA_NAMES)}")
        if width <= 0 or height <= 0 or render_width <= 0 or render_height <= 0 or substeps <= 0:
            raise ValueError("width, height, render_width, render_height and substeps must be positive")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} unsupported; use None or 'rgb_array'")
        self.cameras, self.width, self.height = cameras, width, height
        self.render_mode, self.render_width, self.render_height = render_mode, render_width, render_height
        self.terminate_on_success, self.substeps = terminate_on_success, substeps
        self.camera_names = CAMERA_NAMES

        self.model = build_model(self.task.name)
        self.data = mujoco.MjData(self.model)
        self.controller = EEDeltaController(self.model, self.data)
        # Integer ids once, so steps index arrays instead of looking names up.
        self._ee = self.model.site("ee").id
        self._mocap = int(self.model.body_mocapid[self.model.body("target").id])
        self._fingers = np.array([self.model.joint(n).qposadr[0] for n in robot.FINGER_JOINTS])
        self._arm_q = self.controller.qpos_adr
        self._cube_q = int(self.model.joint("cube").qposadr[0]) if self.task.has_cube else -1
        self._state_size = mujoco.mj_stateSize(self.model, STATE_SPEC)
        self._step_index = 0
        self._initial_state = np.zeros(0)
        self._renderers: dict[tuple[int, int, bool], mujoco.Renderer] = {}

        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        obs_spaces: dict[str, spaces.Space[Any]] = {}
        if "state" in self.obs_modes:
            obs_spaces["state"] = spaces.Box(-np.inf, np.inf, (self.task.state_dim,), np.float32)
        if "proprio" in self.obs_modes:
            obs_spaces["proprio"] = spaces.Box(-np.inf, np.inf, (18,), np.float32)
        if "rgb" in self.obs_modes:
            for cam in cameras:
                obs_spaces[f"rgb/{cam}"] = spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.observation_space = spaces.Dict(obs_spaces)  # type: ignore[assignment]

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        m, d = self.model, self.data
        mujoco.mj_resetDataKeyframe(m, d, 0)  # keyframe 0: home posture, gripper open
        layout = self.task.sample_layout(self.np_random)
        d.mocap_pos[self._mocap] = layout.target
        if layout.cube is not None:
            d.qpos[self._cube_q : self._cube_q + 3] = layout.cube
            half_yaw = layout.cube_yaw / 2  # quaternion (w, x, y, z) of a yaw about world z
            d.qpos[self._cube_q + 3 : self._cube_q + 7] = [np.cos(half_yaw), 0, 0, np.sin(half_yaw)]
        mujoco.mj_forward(m, d)
        self.controller.reset()
        self._step_index = 0
        self._initial_state = self.get_state()
        scene = self._scene()
        return self._get_obs(scene), {"is_success": self.task.is_success(scene)}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (4,):
            raise ValueError(f"{self._name()}: action must have shape (4,), got {np.shape(action)}")
        if not np.isfinite(a).all():
            raise ValueError(f"{self._name()}: non-finite action {a.tolist()} at step {self._step_index}")
        m, d = self.model, self.data
        self.controller.apply(np.minimum(np.maximum(a, -1.0), 1.0))  # out-of-range actions are clipped
        warnings = d.warning.number  # (mjNWARNING,) view of warning counters
        warn_before = warnings[_BADQPOS] + warnings[_BADQVEL] + warnings[_BADQACC]
        mujoco.mj_step(m, d, nstep=self.substeps)
        # mj_step leaves kinematics one substep stale; refresh what observations and the IK read, so
        # they are a function of the state alone (needed for exact get_state/set_state replay).
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_camlight(m, d)  # camera poses (the wrist camera moves with the hand)
        self._step_index += 1

        # MuJoCo resets the data itself on a bad qacc (and warns); NaN/inf may still slip into qpos.
        unstable = bool(warnings[_BADQPOS] + warnings[_BADQVEL] + warnings[_BADQACC] > warn_before)
        if unstable or not np.isfinite(d.qpos).all():
            unstable = True
            self.set_state(self._initial_state)  # back to the episode start: a finite, valid observation
        scene = self._scene()
        terms = self.task.reward_terms(scene)
        success = self.task.is_success(scene) and not unstable
        info: dict[str, Any] = {"is_success": success, "sim_unstable": unstable, **terms}
        terminated = success and self.terminate_on_success and not unstable
        return self._get_obs(scene), float(sum(terms.values())), terminated, unstable, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_width, self.render_height)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    # ------------------------------------------------------------------ workbench extras
    def render_camera(self, camera: str, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 frame with pretty settings (shadows, multisampling), any camera."""
        if camera not in CAMERA_NAMES:
            raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(CAMERA_NAMES)}")
        return self._render(camera, width, height, fast=False)

    def get_state(self) -> np.ndarray:
        """(n,) float64: MuJoCo integration state (incl. warmstart, ctrl, mocap target) + ee command."""
        out = np.empty(self._state_size + 3)
        mujoco.mj_getState(self.model, self.data, out[: self._state_size], STATE_SPEC)
        out[self._state_size :] = self.controller.target
        return out

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self._state_size + 3,):
            expected = self._state_size + 3
            raise ValueError(f"{self._name()}: state must have shape ({expected},), got {state.shape}")
        mujoco.mj_setState(self.model, self.data, state[: self._state_size], STATE_SPEC)
        self.controller.target[:] = state[self._state_size :]
        mujoco.mj_kinematics(self.model, self.data)  # the same refresh as step(), bit for bit
        mujoco.mj_comPos(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)  # cameras: render_camera right after set_state

    # ------------------------------------------------------------------ internals
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else f"PandaMujocoEnv(task={self.task.name!r})"

    def _scene(self) -> Scene:
        d = self.data
        return Scene(
            ee=d.site_xpos[self._ee],
            gripper=float(d.qpos[self._fingers[0]] + d.qpos[self._fingers[1]]),
            target=d.mocap_pos[self._mocap],
            cube=d.qpos[self._cube_q : self._cube_q + 3] if self._cube_q >= 0 else None,
        )

    def _get_obs(self, scene: Scene | None = None) -> dict[str, np.ndarray]:
        scene = scene or self._scene()
        obs: dict[str, np.ndarray] = {}
        if "state" in self.obs_modes:
            obs["state"] = self.task.state(scene)
        if "proprio" in self.obs_modes:
            d, proprio = self.data, np.empty(18, dtype=np.float32)
            proprio[0:7] = d.qpos[self._arm_q]
            proprio[7:14] = d.qvel[self.controller.dof_adr]
            proprio[14:17] = scene.ee
            proprio[17] = scene.gripper
            obs["proprio"] = proprio
        if "rgb" in self.obs_modes:
            for cam in self.cameras:
                obs[f"rgb/{cam}"] = self._render(cam, self.width, self.height, fast=True)
        return obs

    def _render(self, camera: str, width: int, height: int, fast: bool) -> np.ndarray:
        key = (width, height, fast)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = self._make_renderer(width, height, fast)
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def _make_renderer(self, width: int, height: int, fast: bool) -> mujoco.Renderer:
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
