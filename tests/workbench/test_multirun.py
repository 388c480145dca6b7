"""``workbench <command> -m a=1,2 b=x,y``: Hydra sweep semantics, one run directory per job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import workbench
from workbench import cli
from workbench.errors import UserError


def test_sweeps_expand_to_the_cartesian_product_first_varying_slowest() -> None:
    jobs = cli.expand_sweeps(["seed=0,1", "agent.steps=100", "env=a,b"])
    assert jobs == [
        ["seed=0", "agent.steps=100", "env=a"],
        ["seed=0", "agent.steps=100", "env=b"],
        ["seed=1", "agent.steps=100", "env=a"],
        ["seed=1", "agent.steps=100", "env=b"],
    ]


def test_hydra_sweep_forms_and_non_sweeps() -> None:
    assert cli.expand_sweeps(["seed=range(3)"]) == [["seed=0"], ["seed=1"], ["seed=2"]]
    assert cli.expand_sweeps(["x=choice(a,b)"]) == [["x=a"], ["x=b"]]
    # A list value and a quoted comma are one value each, as in Hydra.
    assert cli.expand_sweeps(["x=[1,2]", "y='a,b'"]) == [["x=[1,2]", "y='a,b'"]]
    assert cli.expand_sweeps([]) == [[]]
    assert cli.expand_sweeps(["+extra=1,2"]) == [["+extra=1"], ["+extra=2"]]


def test_unsupported_sweeps_and_bad_syntax_are_user_errors() -> None:
    with pytest.raises(UserError, match="interval"):
        cli.expand_sweeps(["lr=interval(0,1)"])
    with pytest.raises(UserError, match="parse"):
        cli.expand_sweeps(["seed=(("])


def test_jobs_run_in_turn_and_a_failure_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Any] = []

    def fake_train(cfg: Any) -> dict[str, Any]:
        calls.append(cfg)
        if cfg.seed == 1:
            raise RuntimeError("diverged")
        return {"run_dir": cfg.run_dir, "success_rate": 0.5}

    monkeypatch.setattr(cli, "_runner", lambda command: fake_train)
    code = cli.main(["train", "-m", "seed=0,1,2", "agent.steps=100", "runs_root=/tmp/wb_multirun_test"])
    assert code == 1
    assert [c.seed for c in calls] == [0, 1, 2] and all(c.agent.steps == 100 for c in calls)
    run_dirs = [c.run_dir for c in calls]
    assert len(set(run_dirs)) == 3  # one run directory per job, never shared
    assert all(d.startswith("/tmp/wb_multirun_test/") and "_multirun" in d for d in run_dirs)
    out = capsys.readouterr().out
    assert "multirun [1/3] seed=0: ok" in out and "success_rate 0.500" in out
    assert "multirun [2/3] seed=1: FAILED: diverged" in out
    assert "multirun: 2/3 jobs ok" in out


def test_a_shared_run_dir_gets_one_subfolder_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(cli, "_runner", lambda command: lambda cfg: seen.append(cfg.run_dir))
    assert cli.main(["train", "--multirun", "seed=0,1", "run_dir=/tmp/sweep"]) == 0
    assert seen == ["/tmp/sweep/0", "/tmp/sweep/1"]


def test_a_bad_value_in_any_job_fails_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[Any] = []
    monkeypatch.setattr(cli, "_runner", lambda command: ran.append)
    assert cli.main(["train", "-m", "agent.steps=10,-1"]) == 2
    assert ran == []


def test_tiny_real_sweep(tmp_path: Path) -> None:
    proc = workbench(
        "train", "-m", "seed=0,1", "experiment=smoke", "agent.steps=20", "demos.episodes=2",
        "eval.episodes=2", "eval.video=false", f"runs_root={tmp_path}",
    )  # fmt: skip
    assert "multirun: 2/2 jobs ok" in proc.stdout, proc.stdout
    configs = sorted(tmp_path.rglob("config.yaml"))
    assert len(configs) == 2 and configs[0].parent != configs[1].parent
    assert [c.parent.name for c in configs] == ["0", "1"]
    for i, config in enumerate(configs):
        assert f"seed: {i}" in config.read_text()
        results = json.loads((config.parent / "eval" / "results.json").read_text())
        assert results["episodes"] == 2
