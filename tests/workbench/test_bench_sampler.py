"""`workbench bench sampler`: a real (tiny) measurement, and the goals judged from stored numbers."""

from __future__ import annotations

from workbench.bench import sampler


def test_measure_counts_env_steps_per_second() -> None:
    rate = sampler.measure("wb/Reach-mujoco-v0", {"obs_mode": "state"}, "sync", 1, 2, episodes=2, repeats=2)
    assert rate.steps_per_s > 0 and len(rate.runs) == 2 and rate.startup_s > 0


def _table(sync: float, asyn: float, ray1: float, ray2: float) -> dict[str, dict[str, dict[str, float]]]:
    rows = {"sync": sync, "async": asyn, "ray x1": ray1, "ray x2": ray2}
    return {obs: {k: {"steps_per_s": v, "startup_s": 1.0} for k, v in rows.items()} for obs in sampler.OBS}


def test_goals_are_judged_from_the_rates() -> None:
    good = sampler.goals(_table(sync=100, asyn=150, ray1=90, ray2=170))
    assert good["parallel_met"] and good["ray_overhead_met"]
    assert abs(good["parallel_rgb"] - 1.7) < 1e-9
    bad = sampler.goals(_table(sync=100, asyn=120, ray1=70, ray2=130))
    assert not bad["parallel_met"] and not bad["ray_overhead_met"]
    scaling = {str(w): {"steps_per_s": 400.0 * w, "startup_s": 1.0} for w in sampler.SCALING_WORKERS}
    result = {"env_id": "wb/Push-mujoco-v0", "episodes": 8, "repeats": 3, "total_envs": 2,
              "rates": _table(100, 120, 70, 130), "scaling": scaling}  # fmt: skip
    text = sampler.render(result, "workbench bench sampler", "today", "abc1234")
    assert "1.30x, **missed**" in text and "| 8 | 3200 | 8.00x | 8x | 100% |" in text
