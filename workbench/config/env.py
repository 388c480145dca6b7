"""Which env to build and how it observes: ``env.id``, ``env.obs_mode``, cameras, controller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ConfigError


@dataclass
class RandomizeConfig:
    """Domain randomisation (``sim2real/randomize.py``): a preset and per-parameter ranges over it."""

    preset: str = "none"  # none | visual | dynamics | all
    # parameter -> [low, high]: a factor for scalars (friction: [0.5, 1.5]), an offset for
    # table_rgb, light_shift, camera_shift (m) and fov_delta (deg); e.g. env.randomize.ranges.mass=[0.5,2]
    ranges: dict[str, list[float]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.preset != "none" or bool(self.ranges)


@dataclass
class EnvConfig:
    """Which registered env to build and with which observation setup."""

    id: str = "wb/Push-mujoco-v0"
    obs_mode: str = "state"
    cameras: list[str] = field(default_factory=lambda: ["front"])
    width: int = 84
    height: int = 84
    max_episode_steps: int | None = None  # None: the registered TimeLimit
    # ee_delta | ee_delta_yaw | joint_pos | joint_vel | discrete; None: the task's default
    controller: str | None = None
    reward: str = "dense"  # dense (the task's shaped terms) | sparse (-1 until success, then 0)
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to the env constructor as is
    # A `workbench perception train task=points` run (or its model.pt): the task state's object
    # positions come from what it perceives in the cameras' point cloud (perception.in_the_loop).
    # `off` (workbench eval run=...): evaluate a run trained with perception on the simulator's state.
    perception: str | None = None
    randomize: RandomizeConfig = field(default_factory=RandomizeConfig)
    # Sensor and actuator models, wrapped in order (sim2real/wrappers.py), e.g.
    # '[{name: obs_noise, std: 0.005}, {name: action_delay, steps: 1}]'
    sensors: list[dict[str, Any]] = field(default_factory=list)
    # A parameter file (`workbench sysid` writes one): the env's base simulator parameters
    sim_params: str | None = None
    # Tabletop: the instructions episodes draw (envs/tasks/language_splits.py): seen, unseen_colour_shape,
    # unseen_verb_object, unseen_paraphrase or all; null: every instruction (the task as it was)
    instruction_split: str | None = None

    def __post_init__(self) -> None:
        import envs  # light: registration only

        if self.id not in envs.ENV_IDS:
            raise ConfigError(f"unknown env {self.id!r}; valid choices: {', '.join(envs.ENV_IDS)}")
        self._check_sim2real(self.id in envs.TASK_ENV_IDS)
        if self.width < 8 or self.height < 8:
            raise ConfigError(f"env.width/env.height = {self.width}x{self.height}; use at least 8x8")
        check_size(self.width, self.height, "env.width/env.height")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(f"env.max_episode_steps={self.max_episode_steps} must be >= 1 (or null)")
        if not self.cameras:
            raise ConfigError("env.cameras is empty; name at least one camera, e.g. [front]")
        for camera in self.cameras:
            check_camera(camera, "env.cameras")
        from envs.scene_spec import REWARDS

        if self.reward not in REWARDS:
            raise ConfigError(f"env.reward={self.reward!r} is not one of {list(REWARDS)}")
        if self.perception is not None and self.id not in envs.TASK_ENV_IDS:
            raise ConfigError(f"env.perception applies to the task envs (wb/<Task>-<sim>-v0), not {self.id}")
        if self.instruction_split is not None:
            from envs.tasks import get_task
            from envs.tasks.language_splits import SPLITS

            split = self.instruction_split
            if split not in SPLITS:
                raise ConfigError(f"env.instruction_split={split!r} is not one of {list(SPLITS)}")
            if self.id not in envs.TASK_ENV_IDS or not get_task(envs.task_of(self.id)).has_instruction:
                raise ConfigError(f"env.instruction_split applies to Tabletop (wb/Tabletop-*), not {self.id}")
        if self.controller is not None:
            from envs.controllers import CONTROLLERS

            if self.controller not in CONTROLLERS:
                raise ConfigError(f"env.controller={self.controller!r} is not one of {list(CONTROLLERS)}")

    def _check_sim2real(self, task_env: bool) -> None:
        used = [k for k, on in (("env.randomize", self.randomize.active), ("env.sensors", bool(self.sensors)),
                                ("env.sim_params", self.sim_params is not None)) if on]  # fmt: skip
        if used and not task_env:
            raise ConfigError(f"{', '.join(used)} apply to the task envs (wb/<Task>-<sim>-v0), not {self.id}")
        try:
            if self.randomize.active:
                from sim2real.randomize import resolve_ranges

                resolve_ranges(self.randomize.preset, self.randomize.ranges)
            if self.sensors:
                from sim2real.wrappers import check_sensors

                check_sensors(self.sensors)
            if self.sim_params is not None:
                load_sim_params(self.sim_params)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def randomize_ranges(self) -> dict[str, tuple[float, float]]:
        """The resolved ranges of ``env.randomize`` (empty: no randomisation)."""
        if not self.randomize.active:
            return {}
        from sim2real.randomize import resolve_ranges

        return resolve_ranges(self.randomize.preset, self.randomize.ranges)

    def without_sim2real(self) -> EnvConfig:
        """The same env, nominal: no randomisation, sensor models or fitted parameters (a deployment
        target is evaluated as it is)."""
        import dataclasses

        return dataclasses.replace(self, randomize=RandomizeConfig(), sensors=[], sim_params=None)

    def make_kwargs(self) -> dict[str, Any]:
        """Constructor kwargs for ``gymnasium.make(self.id, **kwargs)``."""
        import envs

        if self.id not in envs.TASK_ENV_IDS:
            # Passthrough envs (e.g. wb/CartPole-v1) have no observation modes or cameras.
            passthrough: dict[str, Any] = dict(self.kwargs)
            if self.max_episode_steps is not None:
                passthrough["max_episode_steps"] = self.max_episode_steps
            return passthrough
        kwargs: dict[str, Any] = {
            "obs_mode": self.obs_mode,
            "cameras": tuple(self.cameras),
            "width": self.width,
            "height": self.height,
            "reward": self.reward,
            **self.kwargs,
        }
        if self.controller is not None:
            kwargs["controller"] = self.controller
        if self.max_episode_steps is not None:
            kwargs["max_episode_steps"] = self.max_episode_steps
        if self.sim_params is not None:
            kwargs["sim_params"] = load_sim_params(self.sim_params)
        if self.instruction_split is not None:
            kwargs["instruction_split"] = self.instruction_split
        return kwargs


def load_sim_params(path: str) -> dict[str, Any]:
    """A parameter file's ``params`` (name -> value), checked against the envs' parameters; a missing
    or unreadable file raises ``ValueError`` naming it."""
    import json
    from pathlib import Path

    from envs.sim_params import SimParams

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"env.sim_params={path}: no such file (write one with `workbench sysid`)")
    try:
        payload = json.loads(file.read_text())
        params = payload["params"] if isinstance(payload, dict) and "params" in payload else payload
        SimParams.from_dict(params, f"env.sim_params={path}")
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise ValueError(f"env.sim_params={path} is not a parameter file (JSON, 'params'): {exc}") from exc
    return dict(params)


def check_camera(camera: str, key: str) -> None:
    """A camera name every task env renders (checked before any env is built)."""
    from envs.scene_spec import CAMERA_NAMES

    if camera not in CAMERA_NAMES:
        raise ConfigError(f"{key}: unknown camera {camera!r}; valid choices: {', '.join(CAMERA_NAMES)}")


def check_size(width: int, height: int, key: str) -> None:
    """An image size the renderers can produce (MuJoCo's offscreen framebuffer is finite)."""
    from envs.scene_spec import check_render_size

    try:
        check_render_size(width, height)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def expand_camera_keys(keys: list[str], cameras: tuple[str, ...] | list[str]) -> list[str]:
    """A bare camera mode in ``agent.obs_keys`` means that image from every camera of the env:
    ``[rgb, proprio]`` with ``env.cameras=[agentview, wrist]`` -> ``[rgb/agentview, rgb/wrist, proprio]``.
    The run's config.yaml records the expanded keys, so a checkpoint names the cameras it was trained on."""
    from envs.scene_spec import IMAGE_MODES

    out: list[str] = []
    for key in keys:
        if key in IMAGE_MODES:
            out.extend(f"{key}/{cam}" for cam in cameras)
        else:
            out.append(key)
    return out


def check_obs_keys(keys: list[str], env: EnvConfig) -> None:
    """Fail before demos are collected when the env will not give the agent what it reads."""
    modes = env.obs_mode.split("+")
    for key in keys:
        mode, _, camera = key.partition("/")
        if mode not in modes or (camera and camera not in env.cameras):
            raise ConfigError(
                f"agent.obs_keys has {key!r} but env.obs_mode={env.obs_mode} with env.cameras="
                f"{list(env.cameras)} does not provide it; e.g. env.obs_mode=rgb+proprio env.cameras=[front]"
            )


