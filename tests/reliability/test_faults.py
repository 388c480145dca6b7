"""The fault table: the CLI against bad input and damaged files, in process (fast).

Every case asserts the exit code, one line on stderr naming the culprit, no traceback, and that every
file that existed before the command is byte-identical afterwards. docs/reliability.md lists the
same cases with what the user sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from foundation.files import sha256_file
from tests.reliability.conftest import flip_byte, snapshot
from workbench.cli import main

EPISODE = "episodes/episode_000000.npz"


@dataclass
class Fixture:
    tmp: Path
    run: Path
    data: Path


@dataclass
class Case:
    name: str
    setup: Callable[[Fixture], list[str]]  # damages files if it must, returns the command line
    expect: tuple[str, ...]  # substrings of the one stderr line
    code: int = 2


def _rewrite_episode(data: Path, edit: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]) -> None:
    """Rewrite episode 0 through ``edit`` and record its new hash, as a foreign tool would."""
    path = data / EPISODE
    with np.load(path) as npz:
        arrays = edit({k: npz[k] for k in npz.files})
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    meta = json.loads((data / "meta.json").read_text())
    meta["episodes"][0]["sha256"] = sha256_file(path)
    (data / "meta.json").write_text(json.dumps(meta))


def _nan_actions(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    labels = [k for k in ("actions", "expert_actions") if k in arrays]
    return {**arrays, **{k: arrays[k] * np.nan for k in labels}}


def _edit_meta(data: Path, **fields: object) -> None:
    meta = json.loads((data / "meta.json").read_text())
    meta.update(fields)
    (data / "meta.json").write_text(json.dumps(meta))


def _latest(run: Path) -> Path:
    return run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()


def _file(f: Fixture) -> Path:
    path = f.tmp / "a_file"
    path.write_text("not a directory\n")
    return path


def _config_env(run: Path, env_id: str) -> None:
    cfg = run / "config.yaml"
    cfg.write_text(cfg.read_text().replace("id: wb/Reach-mujoco-v0", f"id: {env_id}", 1))


REACH = "env=wb/Reach-mujoco-v0"
TRAIN = ("train", REACH, "agent.steps=20", "eval.episodes=1", "eval.video=false", "trainer.progress=false")

CASES = [
    # 1. Nothing deletes or overwrites what it did not create.
    Case("eval out= an existing dataset",
         lambda f: ["eval", REACH, "policy=expert", "episodes=1", f"out={f.data}"], ("out=", "not empty")),
    Case("eval out= a file", lambda f: ["eval", REACH, "policy=random", "episodes=1", f"out={_file(f)}"],
         ("a_file", "already exists")),
    Case("eval run= out= an existing dataset",
         lambda f: ["eval", f"run={f.run}", "episodes=1", f"out={f.data}"], ("not empty",)),
    Case("collect over a dataset without append=true",
         lambda f: ["collect", REACH, "episodes=1", f"out={f.data}"], ("already holds a dataset", "append")),
    Case("collect out= a file", lambda f: ["collect", REACH, "episodes=1", f"out={_file(f)}"],
    ("is a file",)),
    Case("collect into a non-dataset directory",
         lambda f: ["collect", REACH, "episodes=1", f"out={f.run}"], ("not a workbench dataset",)),
    Case("train run_dir= a file", lambda f: [*TRAIN, f"dataset={f.data}", f"run_dir={_file(f)}"],
         ("run_dir=", "is a file")),
    Case("train run_dir= an existing run", lambda f: [*TRAIN, f"dataset={f.data}", f"run_dir={f.run}"],
         ("not empty", "resume=")),
    Case("export out= an existing dataset",
         lambda f: ["export", f"dataset={f.data}", f"out={f.run}"], ("out=",)),
    # 2. No silent wrong result.
    Case("checkpoint with a flipped byte",
         lambda f: (flip_byte(_latest(f.run)), ["eval", f"run={f.run}", "episodes=1"])[1],
         ("step_00000020.pt", "sha256")),
    Case("dataset episode with a flipped byte",
         lambda f: (flip_byte(f.data / EPISODE), [*TRAIN, f"dataset={f.data}", f"runs_root={f.tmp}/r"])[1],
         ("episode_000000.npz", "sha256")),
    Case("replay of an episode with a flipped byte",
         lambda f: (flip_byte(f.data / EPISODE), ["replay", f"episode={f.data / EPISODE}"])[1],
         ("episode_000000.npz", "corrupt")),
    Case("latest names a missing checkpoint",
         lambda f: ((f.run / "checkpoints/latest").write_text("step_00000099.pt\n"),
                    ["eval", f"run={f.run}", "episodes=1"])[1],
                    ("latest", "step_00000099.pt", "checkpoint=")),
    Case("latest holds binary garbage",
         lambda f: ((f.run / "checkpoints/latest").write_bytes(b"\x00\xff\xfe\x80"),
                    ["eval", f"run={f.run}", "episodes=1"])[1], ("latest", "unreadable")),
    Case("latest points outside the run",
         lambda f: ((f.run / "checkpoints/latest").write_text("../../policy.pt\n"),
                    ["eval", f"run={f.run}", "episodes=1"])[1], ("latest", "not a step_<N>.pt name")),
    Case("every checkpoint corrupt on resume",
         lambda f: ([flip_byte(p) for p in (f.run / "checkpoints").glob("step_*.pt")],
                    (f.run / "eval/results.json").unlink(), ["train", f"resume={f.run}"])[2],
         ("no valid checkpoint", "refusing to restart")),
    Case("resume with an override that reshapes the run",
         lambda f: ["train", f"resume={f.run}", "agent.steps=40", "agent.lr=0.1"],
         ("cannot change agent.lr",)),
    Case("resume of a finished run without more steps",
         lambda f: ["train", f"resume={f.run}"], ("already finished", "agent.steps=N")),
    Case("resume with fewer steps than the checkpoint",
         lambda f: ((f.run / "eval/results.json").unlink(), ["train", f"resume={f.run}", "agent.steps=5"])[1],
         ("agent.steps=5", "below")),
    Case("training that diverges (NaN loss)",
         lambda f: [*TRAIN, f"dataset={f.data}", f"run_dir={f.tmp}/nan", "agent.lr=1e30",
                    "agent.warmup_steps=0", "trainer.checkpoint_every=1"], ("diverged", "checkpoint")),
    Case("dataset holding NaN actions",
         lambda f: (_rewrite_episode(f.data, _nan_actions),
                    [*TRAIN, f"dataset={f.data}", f"run_dir={f.tmp}/nanrun"])[1], ("NaN", "episodes [0]")),
    Case("collect append=true with seeds already recorded",
         lambda f: ["collect", REACH, "episodes=1", "append=true", "seed=3", f"out={f.data}"],
         ("seeds 3", "leave seed unset")),
    # 3. Operating-system faults and damaged files.
    Case("checkpoint of another env",
         lambda f: (_config_env(f.run, "wb/Push-mujoco-v0"), ["eval", f"run={f.run}", "episodes=1"])[1],
         ("trained on wb/Reach-mujoco-v0", "wb/Push-mujoco-v0", "state")),
    Case("episode file missing an array",
         lambda f: (_rewrite_episode(f.data, lambda a: {k: v for k, v in a.items() if k != "rewards"}),
                    ["replay", f"episode={f.data / EPISODE}", f"out={f.tmp}/r.mp4"])[1],
         ("episode_000000.npz", "rewards")),
    Case("meta.json with a wrong type",
         lambda f: (_edit_meta(f.data, obs_spec="state"), [*TRAIN, f"dataset={f.data}"])[1],
         ("meta.json", "obs_spec", "expected an object")),
    Case("meta.json episode entry with a wrong type",
         lambda f: (_edit_meta(f.data, fps="20"), ["replay", f"episode={f.data / EPISODE}"])[1],
         ("meta.json", "fps")),
    Case("replay with a negative atol",
         lambda f: ["replay", f"episode={f.data / EPISODE}", "verify=true", "atol=-1"], ("atol=-1",)),
    Case("replay beyond the renderer's size limit",
         lambda f: ["replay", f"episode={f.data / EPISODE}", "width=5000", "height=5000"],
         ("limit of 1024",)),
    Case("replay out= a directory",
         lambda f: ["replay", f"episode={f.data / EPISODE}", f"out={f.tmp}/dir.mp4"]
         if (f.tmp / "dir.mp4").mkdir() is None else [], ("is a directory",)),
    Case("replay out= an existing dataset file",
         lambda f: ["replay", f"episode={f.data / EPISODE}", f"out={f.data / 'meta.json'}"], (".mp4",)),
    Case("replay out= an existing video",
         lambda f: ((f.tmp / "v.mp4").write_bytes(b"x"),
                    ["replay", f"episode={f.data / EPISODE}", f"out={f.tmp / 'v.mp4'}"])[1],
                    ("already exists",)),
    Case("collect with an expert on an env that has none",
         lambda f: ["collect", "env=wb/CartPole-v1", "episodes=1", f"out={f.tmp}/cp"],
         ("CartPole", "no scripted expert")),
    Case("train on an env with no expert and no dataset",
         lambda f: ["train", "env=wb/CartPole-v1", f"runs_root={f.tmp}/r"],
         ("no scripted expert", "dataset=")),
    Case("an unparseable override",
         lambda f: ["collect", REACH, "out=it's"], ("cannot parse", "quote")),
    # 5. Validate before work.
    Case("unknown evaluation camera", lambda f: ["train", "eval.camera=nope", f"runs_root={f.tmp}/r"],
         ("camera", "nope", "valid choices")),
    Case("unknown observation camera", lambda f: ["train", "env.cameras=[nope]", f"runs_root={f.tmp}/r"],
         ("env.cameras", "nope")),
    Case("video beyond the renderer's size limit",
         lambda f: ["train", "eval.video_width=4096", f"runs_root={f.tmp}/r"], ("video_width", "limit")),
    Case("expert with a controller it cannot drive",
         lambda f: ["train", "env.controller=joint_vel", f"runs_root={f.tmp}/r"], ("expert", "joint_vel")),
    Case("bad threads value", lambda f: ["train", "threads=many", f"runs_root={f.tmp}/r"], ("threads",)),
    Case("dataset of another env",
         lambda f: ["train", "env=wb/Push-mujoco-v0", f"dataset={f.data}", f"run_dir={f.tmp}/x"],
         ("recorded on wb/Reach-mujoco-v0",)),
    Case("dataset without the agent's observations",
         lambda f: [*TRAIN, f"dataset={f.data}", "env.obs_mode=rgb+proprio", "agent=bc_rgb",
                    f"run_dir={f.tmp}/x"],
         ("no observations", "rgb/front")),
    # Bad input the first wave already handled.
    *(Case(f"first wave: {' '.join(args)}", lambda f, a=args: [*a, f"runs_root={f.tmp}/r"]
           if a[0] == "train" else list(a), (expect,))
      for args, expect in [
          (("train", "env=wb/Nope-v0"), "valid choices"),
          (("train", "agent=nope"), "valid choices: act, airl, bc,"),
          (("train", "agent.lr=abc"), "agent.lr"),
          (("train", "agent.lr=-1"), "agent.lr"),
          (("train", "agent.nope=1"), "agent.nope"),
          (("train", "seed=x"), "seed"),
          (("train", "eval.episodes=0"), "episodes"),
          (("train", "device=tpu"), "device"),
          (("train", "notakeyvalue"), "key=value"),
          (("frobnicate",), "unknown command"),
          (("eval",), "run=RUN_DIR"),
          (("eval", "run=/nonexistent/run"), "/nonexistent/run"),
          (("eval", "env=wb/Push-mujoco-v0", "policy=genius"), "policy"),
          (("collect", "env=wb/Push-mujoco-v0"), "out=DIR"),
          (("replay", "episode=/nonexistent/ep.npz"), "/nonexistent/ep.npz"),
          (("train", "resume=/nonexistent/run"), "/nonexistent/run"),
          (("train", "dataset=/nonexistent/data", "experiment=smoke"), "/nonexistent/data"),
          (("bench",), "suite"),
          (("bench", "ssl", "rows=[centernet_tabletop128]"), "bench ssl runs the ssl rows"),
      ]),
    Case("truncated checkpoint (eval)",
         lambda f: (_latest(f.run).write_bytes(_latest(f.run).read_bytes()[:100]),
                    ["eval", f"run={f.run}", "episodes=1"])[1], ("step_00000020.pt", "corrupt")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(
    case: Case, tmp_path: Path, run: Path, data: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # anything written to a relative default lands here
    args = case.setup(Fixture(tmp_path, run, data))
    before = snapshot(tmp_path)
    code = main(args)
    _, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == case.code, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    for text in case.expect:
        assert text in lines[0], lines[0]
    after = snapshot(tmp_path)
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    assert not changed, f"{case.name} changed or removed {changed}"


def test_failed_commands_leave_nothing_that_blocks_a_retry(
    tmp_path: Path, data: Path, reach_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before any work: no run directory at all.
    assert main([*TRAIN, f"dataset={tmp_path}/missing", f"run_dir={tmp_path}/a"]) == 2
    assert not (tmp_path / "a").exists()
    # Failed after the run directory was made (the data holds NaN): it is removed again.
    _rewrite_episode(data, _nan_actions)
    assert main([*TRAIN, f"dataset={data}", f"run_dir={tmp_path}/b"]) == 2
    assert not (tmp_path / "b").exists()
    # A collection refused before it starts leaves no dataset.
    assert main(["collect", "env=wb/CartPole-v1", "episodes=1", f"out={tmp_path}/cp"]) == 2
    assert not (tmp_path / "cp").exists()
    # A collection killed before its first episode (meta.json with no episodes): collect again works.
    empty = tmp_path / "empty"
    (empty / "episodes").mkdir(parents=True)
    meta = json.loads((reach_dataset / "meta.json").read_text())
    meta.update(episodes=[], num_episodes=0, num_steps=0, complete=False)
    (empty / "meta.json").write_text(json.dumps(meta))
    assert main(["collect", REACH, "episodes=1", "num_envs=1", f"out={empty}"]) == 0
    assert json.loads((empty / "meta.json").read_text())["num_episodes"] == 1
    # A run directory holding only config.yaml (killed before it started) is reused by a retry.
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.yaml").write_text("env: {}\n")
    assert main([*TRAIN, f"dataset={reach_dataset}", f"run_dir={tmp_path}/c"]) == 0
    assert (tmp_path / "c" / "policy.pt").is_file()
    capsys.readouterr()
