"""A VLA from the CLI: train on Tabletop demos, evaluate on a held-out instruction split, refuse bad input."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import pytest

from tests.conftest import workbench, workbench_fails
from workbench.bench.vla import grounding_error, hand_shortcut, verb_counts
from workbench.report import instruction_sheet

SMALL = [
    "agent.widths=[8,16]", "agent.d_model=32", "agent.n_heads=2", "agent.text.dim=16", "agent.text.heads=2",
    "agent.expert_d_model=32", "agent.steps=4", "agent.batch_size=8", "agent.warmup_steps=1",
]  # fmt: skip


def test_vla_trains_and_evaluates_a_held_out_split_from_the_cli(
    tabletop_dataset: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    workbench(
        "train", "experiment=tabletop_vla_pi0", f"dataset={tabletop_dataset}", "env.width=48",
        "env.height=48", *SMALL, "eval.episodes=1", "eval.video=false", f"run_dir={run}",
    )  # fmt: skip
    assert (run / "policy.pt").is_file()
    out = tmp_path / "eval"
    workbench(
        "eval", f"run={run}", "instructions=unseen_paraphrase", "episodes=1", "video=false", f"out={out}"
    )
    results = json.loads((out / "results.json").read_text())
    assert results["instructions"] == "unseen_paraphrase" and results["episodes"] == 1
    assert "instructions='bogus' is not one of" in workbench_fails("eval", f"run={run}", "instructions=bogus")
    # the bench's diagnostics on the same run: success by verb, and the grounding head's error in cm
    counts = verb_counts(out)
    assert set(counts) <= {"push", "put", "lift"} and sum(n for _, n in counts.values()) == 1
    grounding = grounding_error(run, tabletop_dataset)
    quantities = {f"{q}_{a}" for q in ("src", "goal") for a in "xyz"}
    assert grounding["frames"] > 0 and set(grounding["p90_cm"]) == quantities
    assert all(0 <= grounding["median_cm"][k] <= grounding["p90_cm"][k] for k in grounding["p90_cm"])
    hand = hand_shortcut(run, tabletop_dataset)  # the named object's error by the hand's distance to it
    assert sum(b["frames"] for b in hand["src_xy_by_hand_distance_cm"].values()) == hand["frames"]
    assert hand["first_frame"]["over_5cm"] <= hand["episodes"] == grounding["episodes"]
    # the docs' rollout sheet: the frames the policy saw under the instruction it was given
    image = iio.imread(instruction_sheet([("unseen_paraphrase", out)], tmp_path / "sheet.png"))
    assert image.shape == (16 + 2 * 48 + 6, 5 * 2 * 48 + 4 * 4, 3)  # caption, 5 frames, gap


def test_dagger_rounds_train_a_grounded_vla(tabletop_dataset: Path, tmp_path: Path) -> None:
    """DAgger around a VLA: each round's dataset carries the grounding target (agent.aux_key) the
    grounded head trains on, and the expert labels the VLA's own rollouts."""
    run = tmp_path / "run"
    small = [a for a in SMALL if "expert_d_model" not in a]  # a pi0 key
    workbench(
        "train", "experiment=tabletop_vla_rt", f"dataset={tabletop_dataset}", "env.width=48",
        "env.height=48", *small, "agent.grounded=true", "dagger.rounds=1", "dagger.episodes_per_round=1",
        "dagger.max_episode_steps=6", "dagger.steps_per_round=4", "dagger.eval_every_round=false",
        "eval.episodes=1", "eval.video=false", f"run_dir={run}",
    )  # fmt: skip
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    assert summary[-1]["new_labels"] == 6 and (run / "policy.pt").is_file()


def test_spatial_vla_trains_its_heatmaps_from_the_cli(tabletop_dataset: Path, tmp_path: Path) -> None:
    """experiment=tabletop_vla_rt_spatial: the heatmap targets come from the camera matrix its config
    holds, which is the env's agentview camera (84x84), resized to the demos' images."""
    import numpy as np
    import yaml

    from workbench.api import make_env

    config = yaml.safe_load(Path("configs/experiment/tabletop_vla_rt_spatial.yaml").read_text())["agent"]
    env = make_env("wb/Tabletop-mujoco-v0", cameras=["agentview"], width=84, height=84)
    env.reset(seed=0)
    intrinsics, pose = env.unwrapped.camera_matrices("agentview", 84, 84)
    env.close()
    expected = intrinsics @ np.linalg.inv(pose)[:3]
    np.testing.assert_allclose(config["spatial_projection"], expected, atol=1e-4)
    run = tmp_path / "run"
    small = [a for a in SMALL if "expert_d_model" not in a]
    workbench(
        "train", "experiment=tabletop_vla_rt_spatial", f"dataset={tabletop_dataset}", "env.width=48",
        "env.height=48", *small, "eval.episodes=1", "eval.video=false", f"run_dir={run}",
    )  # fmt: skip
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("train/heat_ce" in m for m in metrics) and (run / "policy.pt").is_file()
    # the oracle diagnostic: the same policy with its grounding replaced by the simulator's truth
    from workbench.bench.vla import ORACLE_PARTS, oracle_success

    given = oracle_success(run, ORACLE_PARTS, episodes=2, decode="mean", out=tmp_path / "oracle")
    assert 0.0 <= given["success"] <= 1.0 and sum(n for _, n in given["by_verb"].values()) == 2
    with pytest.raises(ValueError, match="not among"):
        oracle_success(run, ("hand",), episodes=1)


def test_bad_vla_settings_are_refused_in_one_line(tmp_path: Path) -> None:
    assert "agent.text.name" in workbench_fails("train", "experiment=tabletop_vla_rt", "agent.text.name=bert")
    assert "agent.aux_key" in workbench_fails(
        "train", "experiment=tabletop_vla_rt", "agent.grounded=true", "agent.aux_key=null"
    )
    assert "instructions= changes a trained run" in workbench_fails(
        "eval", "env=wb/Tabletop-mujoco-v0", "policy=expert", "instructions=seen"
    )
