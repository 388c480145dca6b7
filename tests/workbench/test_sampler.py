"""The sampler: identical episodes on sync, async and Ray; restarts after env and worker failures;
policy failures as user errors; the step API."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import envs
from agents.registry import AGENTS, agent_class
from workbench.data import observation_spec, spec_from_space
from workbench.errors import UserError
from workbench.sampler import EnvFactory, Sampler

REACH = EnvFactory("wb/Reach-mujoco-v0", {"obs_mode": "state"})
SEEDS = list(range(40, 47))
BACKENDS = ["sync", "async", "ray"]
pytestmark = pytest.mark.xdist_group("ray")  # one Ray per worker process: keep the Ray tests together


def _episodes(backend: str, policy: object, factory: EnvFactory = REACH, **kw: object) -> list:
    with Sampler(factory, num_envs=2, backend=backend, workers=2, **kw) as sampler:  # type: ignore[arg-type]
        episodes = sampler.run(policy, SEEDS)  # type: ignore[arg-type]
        episodes_restarts = sampler.restarts
    return [episodes, episodes_restarts]


def _assert_same(a: list, b: list, atol: float = 0.0, state_atol: float = 0.0) -> None:
    assert [e.seed for e in a] == [e.seed for e in b] == SEEDS
    for x, y in zip(a, b, strict=True):
        assert x.length == y.length
        np.testing.assert_allclose(x.actions, y.actions, atol=atol, rtol=0)
        np.testing.assert_allclose(x.sim_states, y.sim_states, atol=state_atol, rtol=0)


@pytest.fixture(scope="module")
def expert_reference() -> list:
    return _episodes("sync", envs.make_expert("wb/Reach-mujoco-v0"))[0]


@pytest.mark.parametrize("backend", ["async", "ray"])
def test_backends_return_identical_expert_episodes(backend: str, expert_reference: list) -> None:
    episodes, restarts = _episodes(backend, envs.make_expert("wb/Reach-mujoco-v0"))
    _assert_same(expert_reference, episodes)
    assert restarts == 0


def test_backends_agree_for_a_learned_policy() -> None:
    env = REACH()
    obs_spec, action_spec = observation_spec(env.observation_space), spec_from_space(env.action_space)
    env.close()
    import torch

    torch.manual_seed(0)
    policy = agent_class("bc")(AGENTS["bc"].config(), obs_spec, action_spec)
    policy.eval()
    results = {b: _episodes(b, policy)[0] for b in BACKENDS}
    # A network's batch differs between backends (2 rows in one process, 1 per Ray actor), so matmuls
    # sum in another order: actions agree to ~1e-7, and contact dynamics grow that to ~1e-5 in the
    # state over an episode. Identical batches (sync vs async) give identical episodes.
    _assert_same(results["sync"], results["async"])
    _assert_same(results["sync"], results["ray"], atol=1e-4, state_atol=1e-3)


@pytest.mark.parametrize(
    ("backend", "mode"),
    [("sync", "raise"), ("async", "raise"), ("async", "kill"), ("ray", "raise"), ("ray", "kill")],
)
def test_a_failed_env_or_worker_is_restarted_and_its_episodes_rerun(
    backend: str, mode: str, tmp_path: Path
) -> None:
    crash_seed = SEEDS[3]
    kwargs = {"marker": str(tmp_path / "crashed"), "crash_seed": crash_seed, "mode": mode}
    factory = EnvFactory("tests.workbench.crash_env:CrashOnce-v0", kwargs)
    clean = EnvFactory("tests.workbench.crash_env:CrashOnce-v0", {**kwargs, "crash_seed": -1})
    reference, _ = _episodes("sync", envs.make_expert("wb/Reach-mujoco-v0"), clean)
    episodes, restarts = _episodes(backend, envs.make_expert("wb/Reach-mujoco-v0"), factory)
    assert (tmp_path / "crashed").exists(), "the env never crashed"
    assert restarts == 1
    _assert_same(reference, episodes)  # every seed once, as if nothing had happened


@pytest.mark.parametrize("backend", ["sync", "ray"])
def test_an_env_that_keeps_failing_gives_up_with_one_line(backend: str, tmp_path: Path) -> None:
    # A marker that can never be written: the env fails on that seed every time.
    kwargs = {"marker": str(tmp_path / "missing-dir" / "m"), "crash_seed": SEEDS[0], "mode": "raise"}
    factory = EnvFactory("tests.workbench.crash_env:CrashOnce-v0", kwargs)
    with pytest.raises(UserError, match=r"gave up after backend\.max_restarts=1"):
        _episodes(backend, envs.make_expert("wb/Reach-mujoco-v0"), factory, max_restarts=1)


class Exploding:
    def reset(self, seed: int | None = None) -> None:
        pass

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        pass

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        raise RuntimeError("bad policy")


@pytest.mark.parametrize("backend", ["sync", "ray"])
def test_a_policy_that_raises_is_a_user_error_not_a_retry(backend: str) -> None:
    with pytest.raises(UserError, match="policy raised RuntimeError: bad policy") as info:
        _episodes(backend, Exploding())
    assert "not retried" in str(info.value)


def test_step_api_reports_final_observations_and_seeds() -> None:
    expert = envs.make_expert("wb/Reach-mujoco-v0")
    with Sampler(REACH, num_envs=2, backend="sync") as sampler:
        seeds = itertools.count(100)
        obs = sampler.reset(seeds)
        expert.reset(seed=100)
        expert.reset_envs(np.ones(2, bool), [100, 101])
        ended = []
        for _ in range(120):
            step = sampler.step(expert.act(obs))
            obs = step.obs
            done = np.logical_or(step.terminated, step.truncated)
            for row in map(int, np.flatnonzero(done)):
                assert step.final_obs[row] is not None and "state" in step.final_obs[row]
                assert not np.array_equal(step.final_obs[row]["state"], obs["state"][row])
                ended.append(row)
            assert all(step.final_obs[r] is None for r in range(2) if not done[r])
            expert.reset_envs(done, [s if d else None for s, d in zip(step.episode_seeds, done, strict=True)])
        assert len(ended) >= 2
        assert max(step.episode_seeds) == 100 + 1 + len(ended)


def _per_episode(out: Path) -> list[dict[str, object]]:
    import json

    return [
        {k: v for k, v in row.items() if k != "return"} | {"return": round(row["return"], 9)}
        for row in json.loads((out / "results.json").read_text())["per_episode"]
    ]


def test_cli_eval_and_collect_on_every_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main
    from workbench.data import iter_episodes

    common = ["env=wb/Reach-mujoco-v0", "policy=expert", "episodes=5", "num_envs=2", "video=false"]
    per_backend = {}
    for backend in BACKENDS:
        out = tmp_path / f"eval_{backend}"
        assert main(["eval", *common, f"backend={backend}", "backend.workers=2", f"out={out}"]) == 0
        per_backend[backend] = _per_episode(out)
        data = tmp_path / f"data_{backend}"
        assert main(["collect", "env=wb/Reach-mujoco-v0", "episodes=4", "num_envs=2", f"backend={backend}",
                     f"out={data}"]) == 0  # fmt: skip
    assert per_backend["sync"] == per_backend["async"] == per_backend["ray"]
    datasets = {b: list(iter_episodes(tmp_path / f"data_{b}")) for b in BACKENDS}
    for a, b in itertools.combinations(BACKENDS, 2):  # the same episodes at the same indices
        for x, y in zip(datasets[a], datasets[b], strict=True):
            assert x.seed == y.seed and np.array_equal(x.actions, y.actions)
    capsys.readouterr()


# DAgger's rollouts go through the same episode API as collect and eval, which run on every backend
# above (Ray included: ~4 minutes of actor start-up for this run alone on the 2-core CI machine)
@pytest.mark.parametrize("backend", ["async"])
def test_dagger_runs_on_a_parallel_backend(backend: str, tmp_path: Path, reach_dataset: Path) -> None:
    from workbench.cli import main
    from workbench.data import load_meta

    run = tmp_path / "run"
    assert main([
        "train", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent=dagger", "dagger.rounds=1",
        "dagger.episodes_per_round=2", "agent.steps=30", "dagger.steps_per_round=20", "eval.episodes=2",
        "eval.video=false", "eval.num_envs=2", f"backend={backend}", f"run_dir={run}",
        "trainer.progress=false",
    ]) == 0  # fmt: skip
    assert load_meta(run / "dagger_data")["num_episodes"] == load_meta(reach_dataset)["num_episodes"] + 2
