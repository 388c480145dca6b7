"""``workbench bench perception``: collect each row's dataset, train its model, store the test scores.

Rows live in ``configs/bench/perception.yaml``: a row names a dataset (collected once into
``WORK/data/<dataset>`` by ``workbench perception collect``: train, validation and test splits from
their own seed ranges) and the ``workbench perception train`` overrides. Its run directory
``WORK/<row>`` resumes when a previous benchmark stopped mid-training; a finished run is trained
again. Each row's entry (``docs/bench/perception/<row>.json``) holds the commit, the command, the test
scores (pycocotools), the one-thread latency, the training wall time and the validation curve, so rows
can run one at a time and the table shows every row measured so far, stale ones marked.

``loop_rows`` put a trained model in the loop: the row trains a state policy (``workbench train``
with its ``train`` overrides; a finished policy is trained again) and evaluates it on the same test
seeds three ways -- on the simulator's state, on the state with the objects placed by the model of the
``perception`` row (``env.perception=``, that row's run directory: run it first), and the scripted
expert on that perceived state (what perception alone costs).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from workbench.bench.provenance import entry_staleness
from workbench.errors import UserError
from workbench.provenance import loaded_sources

REPO = Path(__file__).resolve().parents[2]
ROWS = REPO / "configs" / "bench" / "perception.yaml"
STORE = REPO / "docs" / "bench" / "perception"
WORK = REPO / "runs" / "bench" / "perception"
TITLE = "Perception (`workbench bench perception`)"
GOALS = {
    "min_map50": ("map50", ">="), "min_miou": ("miou", ">="), "max_latency_ms": ("latency_ms", "<="),
    "max_position_error_cm": ("position_error_cm", "<="), "min_accuracy": ("accuracy", ">="),
    "min_mask_iou": ("mask_iou", ">="), "max_probe_error_cm": ("probe_error_cm", "<="),
    "min_held_out_pick": ("pick_top1_held_out", ">="),
    # a self-supervised encoder's probe beats the same probe on a random encoder of its architecture
    "beats_random": ("probe_error_cm", "<random"),
}  # fmt: skip
NAMES = {"map50": "mAP@0.5", "miou": "mIoU", "latency_ms": "ms/frame",
         "position_error_cm": "position error cm", "accuracy": "accuracy",
         "mask_iou": "mask IoU", "probe_error_cm": "probe error cm",
         "pick_top1_held_out": "held-out caption pick top-1"}  # fmt: skip
# The validation score a row's curve follows, by task (the first of these its metrics log).
CURVE_KEYS = {"eval/map50": "mAP@0.5", "eval/miou": "mIoU", "eval/position_error_cm": "position error (cm)",
              "eval/accuracy": "accuracy", "eval/mask_iou": "mask IoU",
              "eval/probe_error_cm": "probe error (cm)",
              "eval/pick_top1_seen": "seen caption pick top-1"}  # fmt: skip


def load_rows() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ROWS.read_text())
    for row in data["rows"]:
        if row["dataset"] not in data["datasets"]:
            raise UserError(f"{ROWS}: row {row['key']} names unknown dataset {row['dataset']!r}")
        unknown = set(row.get("goals", {})) - set(GOALS)
        if unknown:
            raise UserError(
                f"{ROWS}: row {row['key']}: unknown goals {sorted(unknown)}; valid: {list(GOALS)}"
            )
    return data


def run(keys: list[str] | None, store: Path, work: Path, command: str, machine: str) -> str:
    from workbench.io import atomic_write_json

    data = load_rows()
    rows = [r for r in data["rows"] if not keys or r["key"] in keys]
    loops = [r for r in data.get("loop_rows", []) if not keys or r["key"] in keys]
    valid = [r["key"] for r in [*data["rows"], *data.get("loop_rows", [])]]
    unknown = sorted(set(keys or []) - set(valid))
    if unknown:
        raise UserError(f"unknown perception rows {unknown}; valid: {valid}")
    training = {r["key"] for r in rows}
    for loop in loops:
        if loop["perception"] not in training and not (work / loop["perception"] / "model.pt").is_file():
            raise UserError(
                f"loop row {loop['key']} needs the model of row {loop['perception']}: run "
                f"`workbench bench perception rows=[{loop['perception']}]` first (or both together)"
            )
    for row in rows:
        dataset = _dataset(data["datasets"][row["dataset"]], work / "data" / row["dataset"])
        run_dir = work / row["key"]
        print(f"bench perception: {row['key']} ...", flush=True)
        # The code that trains is the code at the start: a commit made while the row runs is not in it.
        stamp = _stamp(data, row, command, machine)
        wall = _train(row, dataset, run_dir)
        results = json.loads((run_dir / "results.json").read_text())
        # "loaded": the Python files the training imported (what can make the result stale)
        entry = {**stamp, "dataset": row["dataset"], "overrides": row["overrides"], "results": results,
                 "train_minutes": wall / 60, "curve": _curve(run_dir)}  # fmt: skip
        entry["loaded"] = loaded_sources(REPO)
        atomic_write_json(store / f"{row['key']}.json", entry)
    for loop in loops:
        print(f"bench perception: {loop['key']} ...", flush=True)
        stamp = _stamp(data, loop, command, machine)
        measured = _loop(loop, work, store)
        entry = {**stamp, **measured, "loaded": loaded_sources(REPO)}
        atomic_write_json(store / f"{loop['key']}.json", entry)
    return render(data, store)


def _stamp(data: dict[str, Any], row: dict[str, Any], command: str, machine: str) -> dict[str, Any]:
    """A row entry's provenance, taken before the row runs: commit, the row's uncommitted paths,
    date, command and machine."""
    from workbench.provenance import dirty_paths, head_commit

    dirty = dirty_paths(REPO, _paths(data, row))
    return {"row": row["key"], "commit": head_commit(REPO), "dirty_paths": dirty,
            "date": f"{datetime.now():%Y-%m-%d %H:%M}", "command": command, "machine": machine}  # fmt: skip


def _loop(loop: dict[str, Any], work: Path, store: Path) -> dict[str, Any]:
    """Train the loop row's policy and evaluate it with and without perception, and the expert with."""
    from workbench.commands.eval import run as evaluate
    from workbench.commands.train import run as train
    from workbench.config import compose

    root, model = work / loop["key"], work / loop["perception"]
    if root.exists():
        shutil.rmtree(root)  # measure anew: the policy and its evaluations belong together
    policy = root / "policy"
    tic = time.perf_counter()
    overrides = [o.replace("PERCEPTION_RUN", str(model)) for o in loop["train"]]
    train(compose("train", [*overrides, f"run_dir={policy}", "trainer.progress=false"]))
    train_minutes = (time.perf_counter() - tic) / 60
    seeds = [f"seed={loop['eval_seed']}", f"episodes={loop['episodes']}", "num_envs=2"]
    runs = {
        "truth": ["run=" + str(policy), "env.perception=off", "video=false"],
        "perceived": ["run=" + str(policy), f"env.perception={model}", "video_episodes=2"],
        "expert_perceived": [f"env={loop['env']}", "policy=expert", f"env.perception={model}", "video=false"],
    }
    results = {}
    for name, overrides in runs.items():
        out = root / f"eval_{name}"
        res = evaluate(compose("eval", [*overrides, *seeds, f"out={out}"]))
        kept = ("success_rate", "mean_return", "mean_length", "episodes", "seeds")
        results[name] = {k: res[k] for k in kept}
        for key in ("mean_final_perception_error_cm", "mean_max_perception_error_cm"):
            if key in res:
                results[name][key] = res[key]
        if name == "perceived":
            videos = [out / v for v in res["videos"]]
            target = store / "videos"
            target.mkdir(parents=True, exist_ok=True)
            for video in videos:
                shutil.copyfile(video, target / f"{loop['key']}_{video.name}")
    model_entry = store / f"{loop['perception']}.json"
    model_commit = json.loads(model_entry.read_text())["commit"] if model_entry.exists() else None
    return {"results": results, "train_minutes": train_minutes, "perception_row": loop["perception"],
            "perception_commit": model_commit, "train": loop["train"]}  # fmt: skip


def _dataset(spec: dict[str, Any], out: Path) -> Path:
    """Collect the splits of ``spec`` that ``out`` lacks (each split is atomic: a stopped collection
    leaves no partial split behind)."""
    from workbench.commands.perception import collect
    from workbench.config import compose

    have = json.loads((out / "dataset.json").read_text())["splits"] if (out / "dataset.json").exists() else {}
    for split, frames in spec["frames"].items():
        if split not in have:
            overrides = [*spec["collect"], f"frames={frames}", f"split={split}", f"out={out}"]
            overrides.append("progress=false")
            collect(compose("perception_collect", overrides))
    return out


def _train(row: dict[str, Any], dataset: Path, run_dir: Path) -> float:
    """Train the row (resuming an unfinished run); returns the training wall time in seconds, summed
    over the sessions that trained it (kept in ``bench_wall.json``)."""
    from workbench.commands.perception import train
    from workbench.config import compose

    wall_file = run_dir / "bench_wall.json"
    if (run_dir / "results.json").exists():
        shutil.rmtree(run_dir)  # a finished run: measure anew
    earlier = json.loads(wall_file.read_text())["seconds"] if wall_file.exists() else 0.0
    resuming = (run_dir / "config.yaml").exists()
    where = [f"resume={run_dir}"] if resuming else [f"data={dataset}", f"run_dir={run_dir}"]
    steps = [o for o in row["overrides"] if o.startswith("steps=")]
    overrides = [*where, *(steps if resuming else row["overrides"]), "trainer.progress=false"]
    tic = time.perf_counter()
    try:
        train(compose("perception_train", overrides))
    finally:
        if run_dir.exists():
            from workbench.io import atomic_write_json

            atomic_write_json(wall_file, {"seconds": earlier + time.perf_counter() - tic})
    return earlier + time.perf_counter() - tic


def _curve(run_dir: Path) -> list[list[float]]:
    """[step, validation score] of every periodic validation (``CURVE_KEYS``)."""
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key in CURVE_KEYS:
            if key in record:
                out.append([record["step"], record[key]])
                break
    return out


def _score_text(res: dict[str, Any]) -> str:
    if "pick_top1_held_out" in res:
        return (f"a caption picks its object among the scene's: held-out {_num(res['pick_top1_held_out'])} "
                f"({int(res.get('n_pick_top1_held_out', 0))} picks), seen {_num(res.get('pick_top1_seen'))}; "
                f"names a crop among all 15: held-out {_num(res.get('classify_top1_held_out'))}, "
                f"seen {_num(res.get('classify_top1_seen'))}")  # fmt: skip
    if "probe_error_cm" in res:
        random = _num(res.get("random_probe_error_cm"))
        return (f"{res.get('probe_object', 'object')} position by a linear probe: "
                f"{_num(res['probe_error_cm'])} cm (random encoder {random} cm)")  # fmt: skip
    if "position_error_cm" in res:
        return (f"position error {_num(res['position_error_cm'])} cm (median "
                f"{_num(res.get('position_error_median_cm'))}), found {_num(res.get('found'))}, "
                f"point mIoU {_num(res.get('point_miou'))}")  # fmt: skip
    if "mask_iou" in res:
        above = f"IoU > 0.5: {res.get('iou_above_50', 0):.2f}, > 0.75: {res.get('iou_above_75', 0):.2f}"
        return f"mask IoU {res['mask_iou']:.3f} ({above}) over {int(res.get('objects', 0))} objects"
    if "accuracy" in res:
        return f"accuracy {res['accuracy']:.3f} over {int(res.get('objects', 0))} objects"
    if "miou" in res:
        return f"mIoU {res['miou']:.3f} (objects {res.get('miou_objects', float('nan')):.3f})"
    return f"mAP@0.5 {res.get('map50', float('nan')):.3f}, mAP@[.5:.95] {res.get('map', float('nan')):.3f}"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _paths(data: dict[str, Any], row: dict[str, Any]) -> list[str]:
    return sorted({*data.get("shaped_by", []), *row.get("shaped_by", [])})


def _met(row: dict[str, Any], results: dict[str, Any]) -> str:
    verdicts = []
    for goal, bound in row.get("goals", {}).items():
        key, op = GOALS[goal]
        value = results.get(key)
        if op == "<random":
            baseline = results.get(f"random_{key}")
            verdicts.append(value is not None and baseline is not None and value < baseline)
            continue
        verdicts.append(value is not None and (value >= bound if op == ">=" else value <= bound))
    if not verdicts:
        return ""
    return "yes" if all(verdicts) else "**no**"


def _goal_text(row: dict[str, Any]) -> str:
    parts = []
    for goal, bound in row.get("goals", {}).items():
        key, op = GOALS[goal]
        if op == "<random":
            parts.append(f"{NAMES[key]} < a random encoder's")
            continue
        parts.append(f"{NAMES[key]} {op} {bound:g}")
    return ", ".join(parts) or "reported"


def render(data: dict[str, Any], store: Path) -> str:
    lines = [
        f"## {TITLE}",
        "",
        " ".join(str(data.get("intro", "")).split()),
        "",
        "| row | model | task | train frames | test score | ms/frame (1 thread) | train min | goal | met "
        "| measured at |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    commands = []
    for row in data["rows"]:
        path = store / f"{row['key']}.json"
        if not path.exists():
            blank = "| " * 4
            lines.append(
                f"| {row['key']} | {row['model']} | {row['task']} {blank}| {_goal_text(row)} | | not run |"
            )
            continue
        entry = json.loads(path.read_text())
        res = entry["results"]
        frames = data["datasets"][row["dataset"]]["frames"]["train"]
        stale = entry_staleness(REPO, entry, _paths(data, row)).text()
        lines.append(
            f"| {row['key']} | {row['model']} | {row['task']} | {frames} "
            f"| {_score_text(res)} | {res.get('latency_ms', float('nan')):.1f} "
            f"| {entry['train_minutes']:.1f} | {_goal_text(row)} | {_met(row, res)} | {stale} |"
        )
        curve = ", ".join(f"{int(s)}: {v:.2f}" for s, v in entry["curve"])
        metric = next((name for key, name in CURVE_KEYS.items() if key[5:] in res), "score")
        commands.append(f"- {row['key']}: `{entry['command']}` ({entry['date']}, {entry['machine']}); "
                        f"validation {metric} by step: {curve or 'none'}")  # fmt: skip
        if row.get("notes"):
            commands.append(f"  {' '.join(str(row['notes']).split())}")
    out = "\n".join([*lines, "", *commands]) if commands else "\n".join(lines)
    if data.get("loop_rows"):
        out += "\n\n" + _render_loops(data, store)
    return out


def _render_loops(data: dict[str, Any], store: Path) -> str:
    lines = [
        "Perception in the loop: the same test seeds, the policy on the simulator's state, on the state with",
        "the objects where the perception row's model places them, and the scripted expert on that",
        "perceived state.",
        "",
        "| row | policy | perception | success, true state | success, perceived | expert, perceived "
        "| perception error cm (mean final / max) | goal | met | measured at |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for row in data["loop_rows"]:
        path = store / f"{row['key']}.json"
        bound = row.get("goals", {}).get("min_success")
        goal = f"perceived success >= {bound:.0%}" if bound is not None else ""
        if not path.exists():
            blank = "| " * 4
            cells = f"| {row['key']} | {row['policy']} | {row['perception']} {blank}"
            lines.append(f"{cells}| {goal} | | not run |")
            continue
        entry = json.loads(path.read_text())
        res = entry["results"]
        perceived = res["perceived"]
        met = "" if bound is None else "yes" if perceived["success_rate"] >= bound else "**no**"
        stale = entry_staleness(REPO, entry, _paths(data, row)).text()
        error = (f"{perceived.get('mean_final_perception_error_cm', float('nan')):.2f} / "
                 f"{perceived.get('mean_max_perception_error_cm', float('nan')):.2f}")  # fmt: skip
        lines.append(
            f"| {row['key']} | {row['policy']} | {row['perception']} | {res['truth']['success_rate']:.0%} "
            f"| {perceived['success_rate']:.0%} | {res['expert_perceived']['success_rate']:.0%} | {error} "
            f"| {goal} | {met} | {stale} |"
        )
        notes.append(f"- {row['key']}: `{entry['command']}` ({entry['date']}, {entry['machine']}); "
                     f"{perceived['episodes']} episodes from seed {perceived['seeds'][0]}; policy trained "
                     f"{entry['train_minutes']:.1f} min")  # fmt: skip
    return "\n".join([*lines, "", *notes]) if notes else "\n".join(lines)


def rerender(store: Path = STORE) -> str:
    return render(load_rows(), store)
