"""``workbench sysid``: fit the source simulator's parameters to a target system, write a parameter file.

Records excitation episodes on the target (another simulator, or the source with hidden parameters),
fits the source's parameters by CMA-ES (``sim2real/sysid.py``) and writes ``out``: a JSON file with
the fitted ``params`` (which ``env.sim_params=FILE`` loads), the loss before and after, the hidden
values and relative errors when the target was the source with hidden parameters, and provenance.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from workbench.config import SysIdConfig
from workbench.errors import UserError


def run(cfg: SysIdConfig) -> dict[str, Any]:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the wb/ ids)
    from envs.sim_params import SimParams
    from sim2real import sysid
    from workbench.io import atomic_write_text
    from workbench.provenance import provenance

    out = Path(cfg.out)
    if out.is_dir():
        raise UserError(f"out={out} is a directory; name the .json parameter file to write")
    hidden = SimParams.from_dict(cfg.hidden) if cfg.hidden else None
    target_id = cfg.target or cfg.source
    target = gym.make(target_id, sim_params=hidden) if hidden is not None else gym.make(target_id)
    source = gym.make(cfg.source)
    start = time.perf_counter()
    seeds = iter(range(cfg.first_seed, cfg.first_seed + cfg.flicks + cfg.swings))
    kinds = ["flick"] * cfg.flicks + ["swing"] * cfg.swings
    trajectories = [sysid.record(target, kind, next(seeds), cfg.steps) for kind in kinds]
    target.close()
    print(f"recorded {len(trajectories)} excitation episodes on {target_id}"
          + (f" with hidden {cfg.hidden}" if hidden is not None else ""))  # fmt: skip

    def report(i: int, loss: float, params: dict[str, float]) -> None:
        if i % 10 == 0:
            shown = ", ".join(f"{k}={v:.3f}" for k, v in params.items())
            print(f"iteration {i}: loss {loss:.5f}  {shown}", flush=True)

    result = sysid.identify(source, trajectories, cfg.params, iterations=cfg.iterations, seed=cfg.first_seed,
                            on_iteration=report)  # fmt: skip
    source.close()
    payload: dict[str, Any] = {
        "params": result.params,
        "source": cfg.source,
        "target": target_id,
        "hidden": dict(cfg.hidden) or None,
        "loss": result.loss,
        "start_loss": result.start_loss,
        "evaluations": result.evaluations,
        "history": result.history,
        "excitation": {
            "flicks": cfg.flicks,
            "swings": cfg.swings,
            "steps": cfg.steps,
            "first_seed": cfg.first_seed,
        },
        "wall_s": time.perf_counter() - start,
        "provenance": provenance(),
    }
    if hidden is not None:
        payload["relative_error"] = {
            k: abs(v - float(getattr(hidden, k))) / float(getattr(hidden, k))
            for k, v in result.params.items()
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
    fitted = ", ".join(f"{k}={v:.3f}" for k, v in result.params.items())
    losses = f"loss {result.start_loss:.4f} -> {result.loss:.5f}"
    print(f"fitted {fitted} ({losses}, {result.evaluations} evaluations)")
    if "relative_error" in payload:
        print("relative error: " + ", ".join(f"{k} {v:.1%}" for k, v in payload["relative_error"].items()))
    print(f"parameter file: {out}  (use it with env.sim_params={out})")
    return payload
