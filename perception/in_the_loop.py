"""Perception in the loop: a Gymnasium wrapper that puts what a trained model perceives in place of the
simulator's ground truth in the task state, so a state policy acts from what the cameras see.

``env.perception=RUN_DIR`` (a ``workbench perception train task=points`` run, or its ``model.pt``) makes
the workbench's env factory render the clouds the model was trained on (its cameras, image size and
point count, added to the observation) and wrap the env in :class:`PerceivedObjects`: every step the
:class:`~perception.points.models.ObjectLocator` places the task's movable objects in the ``points``
cloud, and the env's ``observe_with`` hook recomputes ``state`` (and the goal view's ``observation`` /
``achieved_goal``) from those positions. An object the model does not find keeps its last estimate
(at the episode's start: the workspace centre). Rewards and success are the simulator's: the world
judges what the policy did. ``info["perception_error_cm"]`` is the estimate's distance from the truth
(the worst object), which an evaluation summarises per episode (``max_`` and ``final_``);
``info["perceived_xyz"]`` the estimates, which its videos draw as green dots.
``envs/`` never imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from workbench.errors import UserError

UNSEEN = np.array([0.5, 0.0, 0.025])  # where an object never found yet is assumed (workspace centre)


def model_file(path: str | Path) -> Path:
    """``RUN_DIR`` (its ``model.pt``) or a model file."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.is_file():
        raise UserError(f"{path}: no model there; give a `workbench perception train` run directory "
                        "or its model.pt")  # fmt: skip
    return path


def load_locator(path: str | Path) -> Any:
    from perception.points.models import load_locator as load

    return load(model_file(path))


def sensor_kwargs(path: str | Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The env constructor ``kwargs`` with what the model at ``path`` needs rendered: its clouds
    (``points`` added to ``obs_mode``) from its cameras at its image size and point count. An image
    observation of other cameras or size cannot share those renders: refused, naming both."""
    sensor = load_locator(path).sensor
    if not sensor:
        raise UserError(f"env.perception={path}: the model records no sensor setup; retrain it")
    modes = str(kwargs.get("obs_mode", "state")).split("+")
    if "goal" in modes:
        raise UserError("env.perception feeds the task state: use obs_mode=state (obs_mode=goal, the HER "
                        "view, stands alone and cannot carry the point cloud)")  # fmt: skip
    images = [m for m in modes if m in ("rgb", "depth", "seg")]
    same = tuple(kwargs.get("cameras", ())) == tuple(sensor["cameras"]) and (
        kwargs.get("width"), kwargs.get("height")) == (sensor["width"], sensor["height"])  # fmt: skip
    if images and not same:
        raise UserError(
            f"env.perception={path} sees cameras {sensor['cameras']} at "
            f"{sensor['width']}x{sensor['height']}, "
            f"but the env's {'+'.join(images)} observations use {list(kwargs.get('cameras', ()))} at "
            f"{kwargs.get('width')}x{kwargs.get('height')}; use the same cameras and size"
        )
    size = {key: sensor[key] for key in ("width", "height", "num_points")}
    out = {**kwargs, "cameras": tuple(sensor["cameras"]), **size}
    if "points" not in modes:
        out["obs_mode"] = "+".join([*modes, "points"])
    return out


class PerceivedObjects(gym.Wrapper):
    """See the module docstring. ``keep_points``: leave the cloud in the observation (False: it was
    added only for the model, and is dropped from the observation and its space)."""

    def __init__(self, env: gym.Env, locator: Any, keep_points: bool = False) -> None:
        super().__init__(env)
        base: Any = env.unwrapped
        if not hasattr(base, "observe_with"):
            raise UserError(f"env.perception applies to the workbench's task envs, not {base}")
        # the task's objects the model was trained to place, by name, with the model's class id for each
        trained = {locator.class_names[cid]: cid for cid in locator.thing_ids}
        self.objects = {o.name: trained[o.name] for o in base.task.objects if o.name in trained}
        if not self.objects:
            raise UserError(
                f"env.perception: the model locates {sorted(trained)}, none of {base.task.name}'s objects "
                f"{[o.name for o in base.task.objects]}; train one on this task's frames"
            )
        self.locator, self.keep_points = locator, keep_points
        self.estimates: dict[str, np.ndarray] = {}
        if not keep_points:
            spaces = {k: v for k, v in env.observation_space.spaces.items() if k != "points"}  # type: ignore[attr-defined]
            self.observation_space = gym.spaces.Dict(spaces)

    def reset(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.estimates = {name: UNSEEN.copy() for name in self.objects}
        return self._perceive(obs, info), info

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._perceive(obs, info), float(reward), terminated, truncated, info

    def _perceive(self, obs: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        base: Any = self.env.unwrapped
        (found,) = self.locator.locate(np.asarray(obs["points"], np.float32)[None])
        truth = base.object_poses()
        error = 0.0
        for name, cid in self.objects.items():
            if cid in found:
                self.estimates[name] = found[cid].astype(np.float64)
            error = max(error, 100 * float(np.linalg.norm(self.estimates[name] - truth[name][:3])))
        info["perception_error_cm"] = error
        info["perceived_xyz"] = np.concatenate([self.estimates[name] for name in self.objects])  # (3K,)
        obs = {**obs, **base.observe_with(self.estimates)}
        if not self.keep_points:
            obs.pop("points")
        return obs
