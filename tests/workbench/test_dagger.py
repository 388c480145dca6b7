"""DAgger's outer loop: label-budget trimming, dataset truncation on resume, and end to end through
the CLI (aggregation and label counts, eval from the run, kill-and-resume at and inside a round)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import workbench, workbench_fails
from workbench.data import DatasetWriter, Episode, episode_path, load_meta
from workbench.train.dagger import best_round, is_best_round, labelled_steps, trim_episode, truncate_dataset

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}


def _episode(length: int, seed: int) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        obs={"state": rng.normal(size=(length + 1, 3)).astype(np.float32)},
        actions=rng.uniform(-1, 1, (length, 2)),
        expert_actions=rng.uniform(-1, 1, (length, 2)),
        rewards=np.zeros(length),
        successes=np.arange(length) == length - 1,
        sim_states=rng.normal(size=(length + 1, 4)),
        terminated=True,
        seed=seed,
    )


def test_trim_episode_keeps_the_first_steps_and_marks_truncation() -> None:
    ep = _episode(10, 0)
    cut = trim_episode(ep, 4)
    assert cut.length == 4 and len(cut.obs["state"]) == 5 and cut.sim_states is not None
    np.testing.assert_array_equal(cut.expert_actions, ep.expert_actions[:4])  # type: ignore[index]
    assert cut.truncated and not cut.terminated and not cut.success


def test_labelled_steps_are_one_step_samples_at_the_stride() -> None:
    ep = _episode(10, 0)
    pieces = labelled_steps(ep, 4, 1)
    assert [p.info["label_step"] for p in pieces] == [1, 5, 9]
    for p in pieces:
        t = p.info["label_step"]
        assert p.length == 1 and len(p.obs["state"]) == 2 and p.sim_states is not None
        np.testing.assert_array_equal(p.obs["state"], ep.obs["state"][t : t + 2])
        np.testing.assert_array_equal(p.expert_actions, ep.expert_actions[t : t + 1])  # type: ignore[index]
    # Only the episode's last step keeps its termination (and success).
    assert [p.terminated for p in pieces] == [False, False, True] and pieces[-1].success
    assert labelled_steps(ep, 1, 0)[3].info["label_step"] == 3 and len(labelled_steps(ep, 1, 0)) == 10


def test_truncate_dataset_drops_a_killed_collections_episodes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with DatasetWriter(root, "wb/Reach-mujoco-v0", {}, OBS_SPEC, ACTION_SPEC, fps=20, cameras=[]) as w:
        for i in range(5):
            w.add(_episode(3 + i, i))
    truncate_dataset(root, 3)
    meta = load_meta(root)
    assert meta["num_episodes"] == 3 and meta["num_steps"] == 3 + 4 + 5 and not meta["complete"]
    assert not episode_path(root, 3).exists() and episode_path(root, 2).exists()
    # Appending again rebuilds the statistics from the kept episodes only.
    with DatasetWriter(root, "wb/Reach-mujoco-v0", {}, OBS_SPEC, ACTION_SPEC, fps=20, cameras=[],
                       append=True) as w:  # fmt: skip
        assert w.meta["stats"]["actions"]["count"] == 12
        w.add(_episode(2, 9))
    assert load_meta(root)["num_episodes"] == 4
    with pytest.raises(Exception, match="modified"):
        truncate_dataset(root, 7)


def test_best_round_is_the_last_of_the_best_validated() -> None:
    history = [{"round": 0, "success_rate": 0.4}, {"round": 1, "success_rate": 0.6}]
    assert is_best_round(history) and best_round(history) == 1
    history.append({"round": 2, "success_rate": 0.5})
    assert not is_best_round(history) and best_round(history) == 1
    history.append({"round": 3, "success_rate": 0.6})  # a tie goes to the round with more labels
    assert is_best_round(history) and best_round(history) == 3


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key


def _point_latest(ckpt_dir: Path, name: str) -> None:
    assert (ckpt_dir / name).is_file(), sorted(p.name for p in ckpt_dir.iterdir())
    (ckpt_dir / "latest").write_text(name + "\n")


@pytest.mark.slow
def test_dagger_aggregates_counts_labels_and_resumes(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    demo_meta = load_meta(reach_dataset)
    out = workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent=dagger",
        "dagger.rounds=2", "dagger.episodes_per_round=2", "dagger.eval_every_round=false",
        "dagger.max_episode_steps=7",
        "agent.steps=60", "dagger.steps_per_round=40", "trainer.checkpoint_every=20",
        "trainer.keep_checkpoints=10", "eval.episodes=2", "eval.video=false", f"run_dir={run}",
    ).stdout  # fmt: skip
    assert "expert labels" in out
    data = load_meta(run / "dagger_data")
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    assert [s["round"] for s in summary] == [0, 1, 2]
    assert [s["beta"] for s in summary] == [1.0, 0.5, 0.25]
    # Aggregation: the demos, then 2 expert-labelled rollouts per round; every step is a label.
    assert data["num_episodes"] == demo_meta["num_episodes"] + 4
    assert all(e["has_expert_actions"] for e in data["episodes"])
    # DAgger's own rollouts stop at dagger.max_episode_steps; the demos keep their length.
    rollouts = data["episodes"][demo_meta["num_episodes"] :]
    assert all(e["length"] <= 7 for e in rollouts) and any(e["length"] == 7 for e in rollouts)
    assert summary[0]["labels"] == demo_meta["num_steps"]
    assert summary[2]["labels"] == data["num_steps"] == summary[0]["labels"] + sum(
        s["new_labels"] for s in summary[1:]
    )
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["expert_labels"] == data["num_steps"] and results["dagger_rounds"] == 2
    assert load_meta(reach_dataset)["num_episodes"] == demo_meta["num_episodes"]  # demos untouched
    metrics = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["dagger/labels"] for m in metrics if "dagger/labels" in m] == [s["labels"] for s in summary]
    assert max(m["step"] for m in metrics) == 60 + 2 * 40

    evaluated = workbench("eval", f"run={run}", "episodes=2", "video=false").stdout
    assert "success_rate" in evaluated
    reference = _weights(run / "policy.pt")

    # Killed inside round 2's training: resume from the round's trainer checkpoint at step 20.
    _point_latest(run / "checkpoints", "step_00000100.pt")
    _point_latest(run / "dagger" / "round_02" / "checkpoints", "step_00000020.pt")
    (run / "policy.pt").unlink()
    (run / "eval" / "results.json").unlink()
    assert "resuming DAgger round 2 from step 20" in workbench("train", f"resume={run}").stdout
    _assert_same_weights(reference, _weights(run / "policy.pt"))

    # Killed while collecting round 2: its episodes are dropped and collected again, same result.
    _point_latest(run / "checkpoints", "step_00000100.pt")
    for path in (run / "dagger" / "round_02").rglob("*.pt"):
        path.unlink()
    (run / "dagger" / "round_02" / "checkpoints" / "latest").unlink()
    (run / "eval" / "results.json").unlink()
    workbench("train", f"resume={run}")
    _assert_same_weights(reference, _weights(run / "policy.pt"))
    assert load_meta(run / "dagger_data")["num_steps"] == data["num_steps"]


@pytest.mark.slow
def test_dagger_labels_only_failures_and_returns_the_best_round(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    demo_meta = load_meta(reach_dataset)
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent=dagger",
        "dagger.rounds=2", "dagger.episodes_per_round=3", "dagger.beta0=0", "dagger.label=failures",
        "dagger.final=best", "dagger.max_episode_steps=6", "agent.steps=40", "dagger.steps_per_round=20",
        "eval.episodes=2", "eval.validation_episodes=2", "eval.video=false", f"run_dir={run}",
    )  # fmt: skip
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    data = load_meta(run / "dagger_data")
    rollouts = data["episodes"][demo_meta["num_episodes"] :]
    # Only failed rollouts were labelled: every appended episode is a failure, and the solved ones
    # (rollout_success counts all of a round's rollouts) added no labels.
    assert all(not e["success"] for e in rollouts)
    for s in summary[1:]:
        assert s["new_episodes"] == round(3 * (1 - s["rollout_success"]))
    results = json.loads((run / "eval" / "results.json").read_text())
    assert results["dagger_final_round"] == best_round(summary)
    _assert_same_weights(_weights(run / "dagger" / "policy_best.pt"), _weights(run / "policy.pt"))


@pytest.mark.slow
def test_dagger_labels_every_kth_state_within_the_budget(tmp_path: Path, reach_dataset: Path) -> None:
    run = tmp_path / "run"
    demo_meta = load_meta(reach_dataset)
    budget = demo_meta["num_steps"] + 5
    workbench(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent=dagger",
        "dagger.rounds=1", "dagger.episodes_per_round=2", "dagger.beta0=0", "dagger.label_every=3",
        f"dagger.label_budget={budget}", "dagger.max_episode_steps=12", "agent.steps=20",
        "dagger.steps_per_round=20", "eval.episodes=2", "eval.validation_episodes=2", "eval.video=false",
        f"run_dir={run}",
    )  # fmt: skip
    data = load_meta(run / "dagger_data")
    labelled = data["episodes"][demo_meta["num_episodes"] :]
    # Two 12-step rollouts labelled every 3rd state would give 8 one-step samples; the budget keeps 5.
    assert [e["length"] for e in labelled] == [1] * 5 and data["num_steps"] == budget
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    assert summary[1]["new_labels"] == 5 and summary[1]["new_episodes"] == 5
    # One-step samples hold no history: an agent that reads several frames is told so, up front.
    line = workbench_fails(
        "train", "experiment=smoke", "env=wb/Reach-mujoco-v0", f"dataset={reach_dataset}", "agent=dagger",
        "dagger.rounds=1", "dagger.label_every=3", "agent.obs_horizon=2", f"run_dir={tmp_path / 'bad'}",
    )  # fmt: skip
    assert "obs_horizon" in line
