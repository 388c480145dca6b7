"""``workbench bench vla``: train each VLA row on Tabletop's seen instructions, then score it once on the
test seeds of every instruction split (``configs/bench/vla.yaml``).

A row trains ``workbench train <overrides> seed=S`` in ``runs/bench/vla/<row>/seed_<S>`` (kept: a
stopped benchmark resumes it), on the suite's shared demonstration set (collected once, seen split,
seeds from the plan's demo range), then runs ``workbench eval run=RUN instructions=<split>`` for the
seen split and each held-out one. The goals: success on seen instructions, and the held-out splits'
success as a ratio of it. Latency is one chunk prediction at batch 1 on one thread (the instruction's
text encoding cached, as it is for every step of an episode but the first).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.bench.imitation import (
    REPO,
    _latency_ms,
    _median_metric,
    _resolved_config,
    config_sha256,
    per_episode,
)
from workbench.bench.provenance import entry_staleness
from workbench.bench.rows import RowError
from workbench.bench.stats import format_percent_ci, mean_ci
from workbench.bench.store import ResultStore, entry_header, measure_rows, seed_floats
from workbench.provenance import dirty_paths, head_commit, loaded_sources

ROWS_FILE = REPO / "configs" / "bench" / "vla.yaml"
STORE = REPO / "docs" / "bench" / "vla"
IMAGES = REPO / "docs" / "img" / "vla"  # rollouts with their instructions, one png per row
WORK = Path("runs/bench/vla")
TITLE = "Vision-language-action agents on held-out instructions (`workbench bench vla`)"
SPLITS = ("seen", "unseen_colour_shape", "unseen_verb_object", "unseen_paraphrase")
DATASET_TOKEN = "{dataset}"


@dataclass(frozen=True)
class VLARow:
    key: str
    agent: str  # as shown in the table
    text: str  # the text encoder, as shown
    overrides: tuple[str, ...]
    seeds: int = 1
    episodes: int = 50  # test episodes per split
    dataset: str = ""  # which of the suite's demonstration sets ({dataset}); "": the first
    min_seen: float | None = None  # success on seen instructions
    min_ratio: dict[str, float] = field(default_factory=dict)  # split -> its success / seen success
    max_latency_ms: float | None = None
    notes: str = ""


@dataclass(frozen=True)
class VLASuite:
    rows: tuple[VLARow, ...]
    datasets: dict[str, dict[str, Any]]  # name -> {dir: the shared demos, collect: `workbench collect` keys}
    shaped_by: tuple[str, ...] = ()
    intro: str = ""

    @property
    def row_keys(self) -> list[str]:
        return [r.key for r in self.rows]

    def row(self, key: str) -> VLARow:
        for row in self.rows:
            if row.key == key:
                return row
        raise RowError(f"unknown vla row {key!r}; valid rows: {', '.join(self.row_keys)}")

    def dataset_of(self, row: VLARow) -> tuple[str, dict[str, Any]]:
        """(name, {dir, collect}) of the demonstrations ``row`` trains on."""
        name = row.dataset or next(iter(self.datasets))
        return name, self.datasets[name]

    def demos_of(self, row: VLARow) -> int:
        """How many demonstrations the row's dataset collects (its ``episodes=`` key)."""
        keys = dict(str(o).split("=", 1) for o in self.dataset_of(row)[1]["collect"])
        return int(keys["episodes"])


def load_suite(path: Path = ROWS_FILE) -> VLASuite:
    data = yaml.safe_load(path.read_text())
    datasets = dict(data["datasets"])
    rows = []
    for item in data["rows"]:
        unknown = set(item) - set(VLARow.__dataclass_fields__)
        if unknown:
            raise RowError(f"{path}: row {item.get('key')!r} has unknown keys {sorted(unknown)}")
        bad = set(item.get("min_ratio", {})) - set(SPLITS)
        if bad:
            raise RowError(
                f"{path}: row {item['key']}: min_ratio splits {sorted(bad)} are not in {list(SPLITS)}"
            )
        if item.get("dataset", "") and item["dataset"] not in datasets:
            raise RowError(
                f"{path}: row {item['key']}: dataset {item['dataset']!r} is not one of {sorted(datasets)}"
            )
        rows.append(VLARow(**{**item, "overrides": tuple(item["overrides"])}))
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise RowError(f"{path}: duplicate row keys")
    return VLASuite(tuple(rows), datasets, tuple(data.get("shaped_by", ())), data.get("intro", ""))


def ensure_dataset(suite: VLASuite, row: VLARow, work: Path) -> Path:
    """The row's demonstrations, collected once (``workbench collect``) if they are not there yet and
    shared by every row that names the same set."""
    from workbench.commands.collect import run as collect
    from workbench.config import compose
    from workbench.data import load_meta

    _, dataset = suite.dataset_of(row)
    root = work / dataset["dir"]
    if (root / "meta.json").is_file() and load_meta(root).get("complete"):
        return root
    collect(compose("collect", [*dataset["collect"], f"out={root}"]))
    return root


def evaluate_split(run_dir: Path, split: str, episodes: int) -> dict[str, Any]:
    """The run's policy on ``episodes`` test seeds drawing ``split``'s instructions (kept: a resumed
    benchmark reads the same record)."""
    from workbench.commands.eval import run as evaluate
    from workbench.config import compose

    out = run_dir / "eval" / f"split_{split}_n{episodes}"
    if not (out / "results.json").is_file():
        video = ["video_episodes=2"] if split == "seen" else ["video=false"]
        evaluate(compose("eval", [f"run={run_dir}", f"instructions={split}", f"episodes={episodes}",
                                  *video, f"out={out}"]))  # fmt: skip
    return dict(json.loads((out / "results.json").read_text()))


def verb_of(instruction: str) -> str:
    """The verb (push / put / lift) a Tabletop instruction asks for, by matching it against the task's
    templates and held-out paraphrases."""
    from envs.tasks.language_splits import PARAPHRASES
    from envs.tasks.tabletop import TEMPLATES

    for verb, templates in TEMPLATES.items():
        for template in (*templates, *PARAPHRASES[verb]):
            pattern = re.escape(template).replace(r"\{src\}", ".+").replace(r"\{dst\}", ".+")
            if re.fullmatch(pattern, instruction):
                return verb
    raise ValueError(f"{instruction!r} is none of Tabletop's instructions")


def verb_counts(record: Path) -> dict[str, list[int]]:
    """{verb: [successes, episodes]} of an eval record's stored episodes (their ``obs/instruction``, or
    the verb one-hot of their ``obs/state`` where the policy saw no instruction)."""
    from envs.tasks.tabletop import VERBS, TabletopTask
    from workbench.data import load_episode, load_meta

    root = record / "episodes"
    meta = load_meta(root)
    key = "instruction" if "instruction" in meta["obs_spec"] else "state"  # a control policy's records
    verb_at = TabletopTask.state_names.index("verb_push")  # one-hot push, put, lift
    counts: dict[str, list[int]] = {}
    for i, episode in enumerate(meta["episodes"]):
        first = load_episode(root, i, obs_keys=[key], meta=meta).obs[key][0]
        if key == "instruction":
            verb = verb_of(str(first))
        else:
            verb = VERBS[int(first[verb_at : verb_at + 3].argmax())]
        tally = counts.setdefault(verb, [0, 0])
        tally[0] += bool(episode["success"])
        tally[1] += 1
    return dict(sorted(counts.items()))


def _grounding_predictions(
    run: Path | str, frames: Path | str, checkpoint: Path | str | None, episodes: int
) -> tuple[Any, Any, Any, list[int]]:
    """(the grounding head's unnormalised predictions (N, S), the frames' states (N, state), the first
    frame of each episode, ``aux_indices``) on every frame of ``frames``' first ``episodes`` episodes."""
    import numpy as np
    import torch

    from workbench.api import load_policy
    from workbench.data import load_meta
    from workbench.dataset import SequenceDataset

    policy: Any = load_policy(run, checkpoint)
    config = policy.config
    keys = [*config.obs_keys, config.aux_key]
    keys = [k if k != "rgb" else policy.image_key for k in keys]
    count = min(episodes, len(load_meta(Path(frames))["episodes"]))
    data = SequenceDataset(frames, keys, config.obs_horizon, config.action_horizon, episodes=range(count))
    preds, states = [], []
    with torch.no_grad():
        for start in range(0, len(data), 256):
            batch = data.sample_batch(np.arange(start, min(start + 256, len(data))))
            # the features the agent's aux loss regresses from: RT's sentence token (or its spatial
            # grounding's points), pi0's summary token
            if hasattr(policy, "features"):
                feats = policy.features(batch)[1]
            else:
                feats = policy.prefix(batch)[0][:, -1]
            preds.append(policy.aux_norm.unnormalize(policy.aux_head(feats)).numpy())  # (B, S)
            states.append(batch[f"obs/{config.aux_key}"][:, -1].float().numpy())  # (B, state)
    firsts = np.asarray(data.episode_ranges)[:, 0]
    return np.concatenate(preds), np.concatenate(states), firsts, list(config.aux_indices)


def _positions(aux_indices: list[int]) -> list[tuple[int, int, str]]:
    """(column of the prediction, index of the state, name) of each position among ``aux_indices``."""
    from envs.tasks.tabletop import TabletopTask

    names = TabletopTask().state_names
    return [(i, k, names[k]) for i, k in enumerate(aux_indices)
            if names[k].startswith(("src_", "goal_")) and names[k][-2:] in ("_x", "_y", "_z")]  # fmt: skip


def grounding_error(
    run: Path | str, frames: Path | str, checkpoint: Path | str | None = None, episodes: int = 40
) -> dict[str, Any]:
    """How far a VLA's training-only grounding head puts the named object and its goal on the frames of
    an episode dataset (``workbench collect ... seed=1500000`` for held-out validation scenes; the run's
    own demos for its training frames; its own evaluation rollouts for closed loop): per position
    (``src_x`` ... ``goal_z``; other grounding targets such as the verb are left out), the median and
    90th percentile of the absolute error in cm, over every frame of its first ``episodes`` episodes."""
    import numpy as np

    pred, state, firsts, aux_indices = _grounding_predictions(run, frames, checkpoint, episodes)
    positions = _positions(aux_indices)
    err = np.stack([np.abs(pred[:, i] - state[:, k]) * 100.0 for i, k, _ in positions], axis=1)  # (N, P) cm
    names = [n for _, _, n in positions]
    return {
        "episodes": len(firsts),
        "frames": int(err.shape[0]),
        "median_cm": {n: round(float(v), 2) for n, v in zip(names, np.median(err, 0), strict=True)},
        "p90_cm": {n: round(float(v), 2) for n, v in zip(names, np.percentile(err, 90, 0), strict=True)},
    }


HAND_BINS_CM = (0.0, 2.0, 5.0, 10.0, 100.0)


def hand_shortcut(
    run: Path | str, frames: Path | str, checkpoint: Path | str | None = None, episodes: int = 40
) -> dict[str, Any]:
    """Does the grounding head find the named object, or the hand? The error of its named-object x/y
    (cm, Euclidean) by how far the hand is from the object in x/y (Tabletop's state 18-19,
    ``src_minus_ee``), and on each episode's first frame (the hand at home, far from everything). A head
    that learned "the object is where the hand is" is precise only in the first bin."""
    import numpy as np

    pred, state, firsts, aux_indices = _grounding_predictions(run, frames, checkpoint, episodes)
    col = {k: i for i, k, _ in _positions(aux_indices)}
    err = np.linalg.norm(pred[:, [col[7], col[8]]] - state[:, 7:9], axis=1) * 100.0  # (N,) cm
    hand = np.linalg.norm(state[:, 18:20], axis=1) * 100.0  # (N,) cm
    bins = {}
    for low, high in itertools.pairwise(HAND_BINS_CM):
        inside = (hand >= low) & (hand < high)
        if inside.any():
            bins[f"{low:g}-{high:g}"] = {
                "frames": int(inside.sum()),
                "median_cm": round(float(np.median(err[inside])), 2),
                "p90_cm": round(float(np.percentile(err[inside], 90)), 2),
            }
    first = err[firsts]
    return {
        "episodes": len(firsts),
        "frames": int(err.shape[0]),
        "src_xy_by_hand_distance_cm": bins,
        "first_frame": {
            "median_cm": round(float(np.median(first)), 2),
            "p90_cm": round(float(np.percentile(first, 90)), 2),
            "over_5cm": int((first > 5.0).sum()),
        },
    }


def store_grounding(
    rows: list[str], frames: Path | str | None, name: str, episodes: int = 40, measure: str = "grounding"
) -> Path:
    """docs/bench/vla/grounding_NAME.json: ``grounding_error`` of each finished row's seed-0 policy on
    ``frames``, with the commit and the command, e.g. ``python -c "from workbench.bench.vla import
    store_grounding; store_grounding(['vla_rt_learned'], 'runs/bench/vla/val_seen_40', 'validation')"``.
    ``frames=None``: each row's own scored rollouts of the seen split (closed loop: the frames the policy
    itself brought about, ``store_grounding([...], None, 'closed_loop', 50)``).
    ``measure="hand"``: :func:`hand_shortcut` instead, to docs/bench/vla/hand_NAME.json."""
    function = {"grounding": grounding_error, "hand": hand_shortcut}[measure]
    out = STORE / f"{measure}_{name}.json"
    report = json.loads(out.read_text()) if out.is_file() else {}
    suite = load_suite()
    for key in rows:
        run_dir = WORK / key / "seed_0"
        seen = run_dir / "eval" / f"split_seen_n{suite.row(key).episodes}" / "episodes"
        where = seen if frames is None else Path(frames)
        report[key] = {
            "commit": head_commit(REPO),
            "frames_dir": str(where),
            **function(run_dir, where, episodes=episodes),
        }
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out


ORACLE_PARTS = ("verb", "src", "goal")  # Tabletop state-name prefixes of the grounding's columns


def oracle_success(
    run: Path | str, parts: tuple[str, ...], episodes: int = 100, decode: str | None = None,
    split: str = "seen", out: Path | None = None,
) -> dict[str, Any]:
    """Is it the grounding or the action head? A grounded VLA's success on ``episodes`` validation
    scenes of ``split`` when the grounding head's predictions of ``parts`` (the verb one-hot, the named
    object's position ``src``, its ``goal``) are replaced by the simulator's truth, every time it
    predicts a chunk; ``parts=()`` is the policy as it is. ``decode``: vla_rt's ``bin_decode`` (an acting
    key) to act with instead of its own. A diagnostic only: the truth comes from the env's privileged
    ``state``, which the policy never reads otherwise. {"success", "by_verb": {verb: [successes, n]}}."""
    import numpy as np
    import torch

    from envs.tasks.tabletop import TabletopTask
    from workbench.api import load_policy
    from workbench.config import load_train_config
    from workbench.config.train import EvalSettings
    from workbench.evaluate import evaluate

    bad = sorted(set(parts) - set(ORACLE_PARTS))
    if bad:
        raise ValueError(f"oracle parts {bad} are not among {list(ORACLE_PARTS)}")
    run = Path(run)
    policy: Any = load_policy(run)
    config = policy.config
    if config.aux_key is None or not config.grounded:
        raise ValueError(f"{run}: the policy has no grounded action head to give the truth to")
    if decode is not None:
        config.bin_decode = decode
    names = TabletopTask().state_names
    prefixes = tuple(f"{p}_" for p in parts)
    columns = [i for i, k in enumerate(config.aux_indices) if names[k].startswith(prefixes)]
    truth: dict[str, np.ndarray] = {}
    predict = policy.aux_predict

    def with_truth(feats: torch.Tensor) -> torch.Tensor:
        pred = predict(feats)  # (1, S) normalised
        if columns:
            true = policy.aux_norm.normalize(torch.as_tensor(truth["state"][:, config.aux_indices]))
            pred = pred.clone()
            pred[:, columns] = true[:, columns].to(pred)
        return pred

    class Oracle:
        """The policy, remembering each step's state (one env: every chunk is this frame's)."""

        def reset(self, seed: int | None = None) -> None:
            policy.reset(seed)

        def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
            policy.reset_envs(mask, seeds)

        def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
            truth["state"] = np.asarray(obs["state"], dtype=np.float32)  # (1, state)
            return np.asarray(policy.act(obs))

    policy.aux_predict = with_truth
    env = dataclasses.replace(load_train_config(run / "config.yaml").env, instruction_split=split)
    where = out or run / "eval" / f"oracle_{'_'.join(parts) or 'none'}_{decode or 'own'}_{split}_n{episodes}"
    settings = EvalSettings(episodes=episodes, split="validation", num_envs=1, video=False)
    plan = load_train_config(run / "config.yaml").seeds
    results = evaluate(Oracle(), env, settings.resolved(plan), where, where / "episodes", progress=False)
    return {"success": results["success_rate"], "by_verb": verb_counts(where)}


def store_oracle(
    rows: list[str], episodes: int = 100, decodes: tuple[str, ...] = ("argmax", "mean"),
    given: tuple[tuple[str, ...], ...] = ((), ORACLE_PARTS),
) -> Path:
    """docs/bench/vla/oracle_validation.json: :func:`oracle_success` of each finished row's seed-0 policy
    with each set of its grounding ``given`` (default: none, all), under each acting ``decodes``, with
    each measurement's commit; a row's entry keeps its other measurements
    (``python -c "from workbench.bench.vla import store_oracle; store_oracle(['ROW'])"``)."""
    out = STORE / "oracle_validation.json"
    report = json.loads(out.read_text()) if out.is_file() else {}
    for key in rows:
        run_dir = WORK / key / "seed_0"
        entry: dict[str, Any] = report.get(key, {})
        if entry.get("episodes") != episodes:
            entry = {}
        entry.update(episodes=episodes, split="seen")
        for decode in decodes:
            for parts in given:
                name = f"{decode}/{'+'.join(parts) or 'none'}"
                measured = oracle_success(run_dir, parts, episodes, decode)
                entry[name] = {"commit": head_commit(REPO), **measured}
        report[key] = entry
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out


def rollout_sheet(row: VLARow | str, run_dir: Path | None = None, images: Path = IMAGES) -> Path:
    """docs/img/vla/ROW.png: a success and a failure of each split's scored episodes with their
    instructions, from a finished row's seed-0 run (``python -c "from workbench.bench.vla import
    rollout_sheet; rollout_sheet('vla_rt_learned')"`` redraws it from the kept run)."""
    from workbench.report import instruction_sheet

    row = load_suite().row(row) if isinstance(row, str) else row
    run_dir = run_dir or WORK / row.key / "seed_0"
    records = [(s, run_dir / "eval" / f"split_{s}_n{row.episodes}") for s in SPLITS]
    return instruction_sheet(records, images / f"{row.key}.png")


def run_row(row: VLARow, suite: VLASuite, work: Path, images: Path | None = IMAGES) -> dict[str, Any]:
    from workbench.bench.rl import train_or_resume, wall_of
    from workbench.config import load_train_config

    # the code the row runs with: taken before it trains (a commit made meanwhile did not shape it)
    commit, dirty_tree, dirty_row = (
        head_commit(REPO),
        dirty_paths(REPO),
        dirty_paths(REPO, list(suite.shaped_by)),
    )
    dataset = ensure_dataset(suite, row, work)
    overrides = [o.replace(DATASET_TOKEN, str(dataset)) for o in row.overrides]
    seeds, config = [], None
    for seed in range(row.seeds):
        run_dir = work / row.key / f"seed_{seed}"
        train_or_resume(overrides, seed, run_dir)
        results = {split: evaluate_split(run_dir, split, row.episodes) for split in SPLITS}
        train_cfg = load_train_config(run_dir / "config.yaml")
        if seed == 0 and images is not None and "rgb" in train_cfg.env.obs_mode:  # a control on state: none
            rollout_sheet(row, run_dir, images)
        wall, cpu = wall_of(run_dir)
        resolved = _resolved_config(run_dir)
        config = config or resolved
        seeds.append({
            "seed": seed,
            "success": {s: results[s]["success_rate"] for s in SPLITS},
            "wall_minutes": wall,
            "cpu_minutes": cpu,
            "samples_per_s": _median_metric(run_dir, "train/samples_per_s"),
            "latency_ms": _latency_ms(run_dir, train_cfg.env),
            "config_sha256": config_sha256(resolved),
            "per_episode": {s: per_episode(results[s]) for s in SPLITS},
            "by_verb": {s: verb_counts(run_dir / "eval" / f"split_{s}_n{row.episodes}") for s in SPLITS},
        })  # fmt: skip
    return {
        **entry_header(row.key, commit, dirty_tree, dirty_row, overrides),
        "config": config,
        "loaded": loaded_sources(REPO),  # the Python files the training imported (staleness)
        "seeds": seeds,
    }


def run(selected: list[str] | None, store_path: Path, work: Path, command: str, machine: str) -> str:
    suite = load_suite()
    store = ResultStore(store_path)
    measure_rows(
        "vla", selected, suite.row_keys, suite.row, lambda key: run_row(suite.row(key), suite, work),
        store, command, machine,
    )  # fmt: skip
    return render(suite, store)


def _values(entry: dict[str, Any], split: str) -> list[float]:
    return [float(s["success"][split]) for s in entry.get("seeds", []) if s.get("success")]


def verdicts(row: VLARow, entry: dict[str, Any]) -> list[str]:
    """One phrase per goal of the row: met, or missed with the number."""
    out = []
    seen = _values(entry, "seen")
    mean_seen = statistics.fmean(seen) if seen else 0.0
    if row.min_seen is not None:
        ok = mean_seen >= row.min_seen - 1e-12
        out.append(f"seen >= {row.min_seen:.0%}: " + ("met" if ok else f"**missed** ({mean_seen:.0%})"))
    for split, ratio in row.min_ratio.items():
        value = statistics.fmean(_values(entry, split)) / mean_seen if mean_seen > 0 else 0.0
        ok = value >= ratio - 1e-12
        out.append(f"{split} >= {ratio:g}x seen: " + ("met" if ok else f"**missed** ({value:.2f}x)"))
    latency = seed_floats(entry, "latency_ms")
    if row.max_latency_ms is not None and latency:
        value = statistics.median(latency)
        ok = value <= row.max_latency_ms
        out.append(
            f"latency <= {row.max_latency_ms:g} ms: " + ("met" if ok else f"**missed** ({value:.0f} ms)")
        )
    return out


def render(suite: VLASuite | None = None, store: ResultStore | None = None) -> str:
    suite = suite or load_suite()
    store = store or ResultStore(STORE)
    entries = store.load_all(suite.row_keys)
    cols = ["agent", "text encoder", "demos", "seen", "unseen colour x shape", "unseen verb x object",
            "unseen paraphrase", "goals", "train min (CPU)", "samples/s", "latency ms",
            "measured at"]  # fmt: skip
    lines = [f"## {TITLE}", "", suite.intro, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    commands, notes = [], []
    for row in suite.rows:
        if row.notes:
            notes.append(f"- {row.key}: {row.notes}")
        entry = entries.get(row.key)
        if entry is None:
            cells = [row.agent, row.text, str(suite.demos_of(row)), "not run"]
            lines.append("| " + " | ".join(cells) + " |" + " |" * (len(cols) - len(cells)))
            continue
        seen = _values(entry, "seen")
        mean_seen = statistics.fmean(seen) if seen else 0.0
        cells = [row.agent, row.text, str(suite.demos_of(row)), format_percent_ci(mean_ci(seen))]
        for split in SPLITS[1:]:
            vals = _values(entry, split)
            ratio = f" ({statistics.fmean(vals) / mean_seen:.2f}x)" if vals and mean_seen > 0 else ""
            cells.append(format_percent_ci(mean_ci(vals)) + ratio)
        keys = ("wall_minutes", "cpu_minutes", "samples_per_s", "latency_ms")
        wall, cpu, sps, lat = (seed_floats(entry, k) for k in keys)
        stale = entry_staleness(REPO, entry, list(suite.shaped_by))
        cells += [
            "; ".join(verdicts(row, entry)) or "reported",
            (f"{statistics.fmean(wall):.0f}" if wall else "")
            + (f" ({statistics.fmean(cpu):.0f})" if cpu else ""),
            f"{statistics.median(sps):.0f}" if sps else "",
            f"{statistics.median(lat):.1f}" if lat else "",
            stale.text(),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        commit = (entry.get("commit") or "?")[:7]
        commands.append(
            f"- {row.key} ({entry.get('date')}, {entry.get('machine')}, commit {commit}, "
            f"{len(entry.get('seeds', []))} seed(s)): `{entry.get('command')}` = `workbench train "
            f"{' '.join(entry.get('overrides', []))} seed=S`, then `workbench eval run=RUN "
            f"instructions=SPLIT episodes={row.episodes}` for each split"
        )
    return "\n".join([*lines, "", *by_verb_table(suite, entries), "Commands:", "", *commands, "", "Notes:",
                      "", *notes])  # fmt: skip


def by_verb_table(suite: VLASuite, entries: dict[str, dict[str, Any]]) -> list[str]:
    """Successes / episodes per verb and split, summed over a row's seeds (rows that stored them)."""
    verbs = ("push", "put", "lift")
    title = "Success by verb (successes / episodes; push: into a zone, put: on another object, lift):"
    lines = [title, "", "| row | " + " | ".join(SPLITS) + " |", "|" + "---|" * (len(SPLITS) + 1)]
    measured = False
    for row in suite.rows:
        seeds = [s for s in entries.get(row.key, {}).get("seeds", []) if s.get("by_verb")]
        if not seeds:
            continue
        measured = True
        cells = []
        for split in SPLITS:
            counts = [[s["by_verb"][split].get(v, [0, 0]) for s in seeds] for v in verbs]  # verb, seed
            cells.append(", ".join(
                f"{v} {sum(c[0] for c in per_seed)}/{sum(c[1] for c in per_seed)}"
                for v, per_seed in zip(verbs, counts, strict=True)
            ))  # fmt: skip
        lines.append(f"| {row.key} | " + " | ".join(cells) + " |")
    return [*lines, ""] if measured else []
