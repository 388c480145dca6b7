"""System identification: fit a simulator's parameters to trajectories recorded on a target system.

The target is another simulator (MuJoCo <-> PyBullet: same task, same layouts per seed, same action
meanings) or the source simulator with hidden parameters (where the answer is known, so the method
can be checked). Excitation trajectories are recorded on the target, closed loop there:

- ``flick``: the closed fingers come down behind the task's first object, strike it at full speed and
  stop; the object slides free, and how far it goes shows the friction (a slide decelerates at
  mu g whatever the mass);
- ``swing``: smooth random end-effector moves at up to full speed in free space; how the joints lag
  and settle behind the controller's targets shows the servo gain and the joint damping.

The same actions are then replayed open loop in the source with candidate parameters, and CMA-ES
(the ``cma`` package) minimises the mean squared trajectory error (joint positions in units of
0.01 rad and velocities of 0.1 rad/s, object positions in units of 1 cm) over the log of each
parameter: first the arm's gain and damping on the swings, then friction (and mass) on the flicks
with the arm fixed. Fitted in one search, gain and damping traded off against each other and
against the contact-rich flicks, and the search stalled with damping far off; staged, each
converges (``identify``). Object masses show only weakly (a struck object's slide decelerates at
mu g whatever its mass): fit them with ``params=[..., mass]`` and read the estimate with that caveat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.sim_params import SimParams

FITTABLE = ("friction", "mass", "damping", "gain")
EXCITATIONS = ("flick", "swing")
# One unit of error: 0.01 rad of joint position, 0.1 rad/s of joint velocity (damping acts on the
# velocity: with positions alone the search crawled along a valley where damping trades off with gain)
JOINT_SCALE = np.array([0.01] * 7 + [0.1] * 7)
OBJECT_SCALE = 0.01  # m: one unit of object position error
FREE_Z = 0.15  # m: the swings keep the hand above this height
LOG_BOUND = np.log(5.0)  # each factor searched within [1/5, 5] of the start


@dataclass
class Trajectory:
    """One excitation episode on the target: its seed, the actions sent, what was measured."""

    kind: str
    seed: int
    actions: np.ndarray  # (T, A) float32
    joints: np.ndarray  # (T + 1, 14) arm joint positions (rad) and velocities (rad/s)
    objects: np.ndarray  # (T + 1, K, 3) m, the task's objects in play


@dataclass
class SysIdResult:
    params: dict[str, float]  # the fitted values (factors on the nominal)
    loss: float  # mean squared trajectory error at the fit (scaled units)
    start_loss: float  # at the starting values
    evaluations: int
    history: list[float] = field(default_factory=list)  # best loss after each CMA-ES iteration


def _measure(env: Any) -> tuple[np.ndarray, np.ndarray]:
    """(14,) arm joint positions (rad) and velocities (rad/s), (K, 3) object positions (m)."""
    base = env.unwrapped
    names = [o.name for o in base.task.objects]
    poses = base.object_poses()
    joints = np.concatenate([base._joint_pos[:7], base._joint_vel[:7]])
    return joints, np.array([poses[n][:3] for n in names])


def _in_play(objects: np.ndarray) -> np.ndarray:
    """(K,) mask of objects on the table (absent pool objects are parked far below it)."""
    return objects[:, 2] > -0.5


def flick_policy(steps: int) -> Callable[[Any, int], np.ndarray]:
    """Come down behind the first object in play, strike it along +x at full speed, stop."""

    def act(env: Any, t: int) -> np.ndarray:
        base = env.unwrapped
        _, objects = _measure(env)
        obj = objects[np.flatnonzero(_in_play(objects))[0]]
        ee = np.array(base._ee_pos)
        behind = obj + np.array([-0.09, 0.0, 0.0])
        behind[2] = 0.02  # fingertips at the object's middle
        a = np.zeros(base.action_space.shape, dtype=np.float32)
        a[-1] = -1.0  # closed fingers: one paddle
        if t < steps * 0.3:
            goal = behind + np.array([0.0, 0.0, 0.08])
        elif t < steps * 0.5:
            goal = behind
        elif t < steps * 0.62:
            a[0] = 1.0  # strike
            return a
        else:
            return a  # stop: the object slides free
        a[:3] = np.clip((goal - ee) / 0.03, -1.0, 1.0)
        return a

    return act


def swing_policy(steps: int, seed: int) -> Callable[[Any, int], np.ndarray]:
    """Smooth random end-effector moves: a new random velocity every 4 steps, up to full speed,
    steered back towards the workspace centre so the hand stays clear of the table and objects."""
    rng = np.random.default_rng([seed, 0x5151])
    moves = rng.uniform(-1.0, 1.0, size=(steps // 4 + 1, 3))
    centre = np.array([0.45, 0.0, 0.32])

    def act(env: Any, t: int) -> np.ndarray:
        ee = np.array(env.unwrapped._ee_pos)
        a = np.zeros(env.unwrapped.action_space.shape, dtype=np.float32)
        a[:3] = np.clip(moves[t // 4] + (centre - ee) / 0.1, -1.0, 1.0)
        # never below 15 cm: a touch of the table or an object would make the error rough in the arm's
        # parameters (contacts switch on and off between candidates)
        a[2] = max(a[2], float(np.clip((FREE_Z - ee[2]) / 0.03, -1.0, 1.0)))
        a[-1] = 1.0
        return a

    return act


def record(env: Any, kind: str, seed: int, steps: int) -> Trajectory:
    """Run one excitation episode on ``env`` (the target), closed loop there."""
    if kind not in EXCITATIONS:
        raise ValueError(f"unknown excitation {kind!r}; valid: {', '.join(EXCITATIONS)}")
    policy = flick_policy(steps) if kind == "flick" else swing_policy(steps, seed)
    env.reset(seed=seed)
    joints, objects = _measure(env)
    js, objs, actions = [joints], [objects], []
    for t in range(steps):
        a = policy(env, t)
        env.step(a)
        joints, objects = _measure(env)
        actions.append(a)
        js.append(joints)
        objs.append(objects)
    return Trajectory(kind, seed, np.array(actions, dtype=np.float32), np.array(js), np.array(objs))


def trajectory_error(env: Any, params: SimParams, trajectories: Sequence[Trajectory]) -> float:
    """Mean squared error (scaled units) of ``env`` (the source) replaying every trajectory's actions
    open loop with ``params``."""
    base = env.unwrapped
    base.base_params = params
    total, count = 0.0, 0
    for traj in trajectories:
        env.reset(seed=traj.seed)
        mask = _in_play(traj.objects[0])
        for t, a in enumerate(traj.actions):
            env.step(a)
            joints, objects = _measure(env)
            dj = (joints - traj.joints[t + 1]) / JOINT_SCALE
            total += float(dj @ dj)
            count += dj.size
            if traj.kind == "flick":
                do = (objects[mask] - traj.objects[t + 1][mask]) / OBJECT_SCALE
                total += float((do * do).sum())
                count += do.size
    return total / max(count, 1)


ARM = ("damping", "gain")  # fitted first, on the swings: no contact, so nothing else moves the joints
CONTACT = ("friction", "mass")  # then on the flicks, the arm's values fixed


def identify(
    env: Any,
    trajectories: Sequence[Trajectory],
    names: Sequence[str],
    start: SimParams | None = None,
    iterations: int = 40,
    popsize: int | None = None,
    seed: int = 0,
    sigma: float = 0.3,
    on_iteration: Callable[[int, float, dict[str, float]], None] | None = None,
) -> SysIdResult:
    """Fit ``names`` (a subset of ``FITTABLE``) in two stages, as one identifies a robot before what
    it touches: the arm's servo gain and damping on the swing episodes (joint errors, free space),
    then friction and mass on the flick episodes with the arm's values fixed. Each stage is CMA-ES over
    log-factors (each within [1/5, 5] of its start) minimising :func:`trajectory_error`; a stage
    without its own episodes uses all of them. Parameters not fitted stay at ``start``."""
    unknown = [n for n in names if n not in FITTABLE]
    if unknown or not names:
        raise ValueError(f"sysid params {list(names)}: fit a non-empty subset of {list(FITTABLE)}")
    current = start or SimParams()
    start_loss = trajectory_error(env, current, trajectories)
    history: list[float] = []
    evaluations = 1
    done = 0
    for group, kind in ((ARM, "swing"), (CONTACT, "flick")):
        fit = [n for n in names if n in group]
        if not fit:
            continue
        stage = [t for t in trajectories if t.kind == kind] or list(trajectories)

        def report(i: int, loss: float, params: dict[str, float], done: int = done) -> None:
            if on_iteration is not None:
                on_iteration(done + i, loss, params)

        current, stage_history, count = _cma(
            env, stage, fit, current, iterations, popsize, seed, sigma, report
        )
        history += stage_history
        evaluations += count
        done += len(stage_history)
    loss = trajectory_error(env, current, trajectories)
    fitted = {n: float(getattr(current, n)) for n in names}
    return SysIdResult(fitted, loss, start_loss, evaluations + 1, history)


def _cma(
    env: Any,
    trajectories: Sequence[Trajectory],
    names: Sequence[str],
    start: SimParams,
    iterations: int,
    popsize: int | None,
    seed: int,
    sigma: float,
    report: Callable[[int, float, dict[str, float]], None],
) -> tuple[SimParams, list[float], int]:
    """CMA-ES over the log of ``names``; returns the best parameters seen, the best loss after each
    iteration and the number of evaluations."""
    import cma

    x0 = np.log([getattr(start, n) for n in names])

    def params_of(x: np.ndarray) -> SimParams:
        values = start.to_dict()
        values.update({n: float(np.exp(v)) for n, v in zip(names, x, strict=True)})
        return SimParams.from_dict(values)

    def loss(x: np.ndarray) -> float:
        return trajectory_error(env, params_of(np.asarray(x)), trajectories)

    options: dict[str, Any] = {
        "bounds": [list(x0 - LOG_BOUND), list(x0 + LOG_BOUND)], "seed": seed + 1, "verbose": -9,
        "maxiter": iterations, "tolfun": 1e-12, "tolx": 1e-5,
    }  # fmt: skip
    if popsize is not None:
        options["popsize"] = popsize
    es = cma.CMAEvolutionStrategy(list(x0), sigma, options)
    best_x, best = x0, loss(x0)
    history: list[float] = []
    while not es.stop():
        xs = es.ask()
        values = [loss(np.asarray(x)) for x in xs]
        es.tell(xs, values)
        i = int(np.argmin(values))
        if values[i] < best:
            best_x, best = np.asarray(xs[i]), values[i]
        history.append(best)
        report(len(history), best, {n: float(np.exp(v)) for n, v in zip(names, best_x, strict=True)})
    return params_of(best_x), history, int(es.countevals) + 1
