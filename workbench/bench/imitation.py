"""``workbench bench imitation``: train and evaluate the rows of ``configs/bench/imitation.yaml``.

Each row runs ``workbench train <overrides> seed=S`` for S = 0..seeds-1 (the seed plan makes S pick
different demonstrations as well as a different initialisation), and stores one entry per row in
``docs/bench/imitation/<row>.json`` (see ``store``) with the commit, the resolved config and every
test episode, so rows can be run one at a time and the table always shows every row measured so far.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from workbench.bench.render import render_store
from workbench.bench.rows import Choice, Row, Suite, load_suite
from workbench.bench.store import ResultStore, curve, entry_header, migrate_legacy
from workbench.provenance import dirty_paths, head_commit, loaded_sources

REPO = Path(__file__).resolve().parents[2]
ROWS_FILE = REPO / "configs" / "bench" / "imitation.yaml"
TITLE = "Imitation learning (`workbench bench imitation`)"
LABEL_BUDGET_TOKEN = "LABELS_OF_20_DEMOS"  # replaced by the expert labels in the first 20 demos
SEED_TOKEN = "{seed}"  # replaced by the training seed: `adversarial.reward_from=.../airl_reach/seed_{seed}`
WORK = Path("runs/bench/imitation")  # the kept rows' run directories (Row.kept)


def _median_metric(run_dir: Path, key: str) -> float | None:
    values = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get(key) is not None:
            values.append(float(record[key]))
    return statistics.median(values) if values else None


def _latency_ms(run_dir: Path, env_cfg: Any) -> float:
    """Median wall time of one full prediction at batch size 1 (the policy's queue is emptied first)."""
    import torch

    from agents.policy_io import load_policy
    from workbench.evaluate import env_factory

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the latency a single-env deployment sees, not a 2-core batch
    policy = load_policy(run_dir / "policy.pt")
    policy.eval()
    env = env_factory(env_cfg)()  # the run's cameras and image size
    obs, _ = env.reset(seed=0)
    batch = {k: np.asarray(v)[None] for k, v in obs.items()}
    times = []
    for _ in range(20):
        policy.reset()
        tic = time.perf_counter()
        policy.act(batch)
        times.append(time.perf_counter() - tic)
    env.close()
    torch.set_num_threads(threads)
    return 1000 * statistics.median(times[3:])


def demo_labels(env_id: str, episodes: int, seed: int = 0) -> int:
    """Expert labels (steps) in the first ``episodes`` demos: the DAgger row's label budget."""
    import envs
    from workbench.sampler import EnvFactory, rollout

    demos = rollout(EnvFactory(env_id, {"obs_mode": "state"}), envs.make_expert(env_id), episodes, seed)
    return int(sum(ep.length for ep in demos))


def per_episode(results: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every test episode of an ``eval/results.json``: ``per_episode`` where the run wrote it, else
    rebuilt from the older ``seeds`` / ``successes`` lists (no return, length or task metrics)."""
    if isinstance(results.get("per_episode"), list):
        return [
            {k: v for k, v in ep.items() if isinstance(v, (int, float, str, bool)) or v is None}
            for ep in results["per_episode"]
        ]
    seeds, successes = results.get("seeds"), results.get("successes")
    if isinstance(seeds, list) and isinstance(successes, list) and len(seeds) == len(successes):
        return [
            {"seed": s, "success": bool(ok), "return": None, "length": None}
            for s, ok in zip(seeds, successes, strict=True)
        ]
    return None


def _resolved_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.yaml without its (temporary) run_dir: what the result depends on."""
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    config.pop("run_dir", None)
    return dict(config)


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def resolve_overrides(row: Row) -> list[str]:
    overrides = list(row.overrides)
    if any(LABEL_BUDGET_TOKEN in o for o in overrides):
        env_id = next(o.split("=", 1)[1] for o in overrides if o.startswith("env="))
        budget = demo_labels(env_id, 20)
        overrides = [o.replace(LABEL_BUDGET_TOKEN, str(budget)) for o in overrides]
    return overrides


def choose_on_validation(run_dir: Path, choice: Choice) -> dict[str, Any]:
    """Evaluate ``agent.<key>=v`` for every value on validation seeds; the best is scored on test
    once by the caller. Returns the record of the choice (values, validation results, chosen)."""
    from workbench.commands.eval import run as evaluate
    from workbench.config import compose

    scores = []
    for value in choice.values:
        cfg = compose("eval", [f"run={run_dir}", "split=validation", f"episodes={choice.episodes}",
                               "video=false", f"agent.{choice.key}={value}",
                               f"out={run_dir / 'eval' / f'choose_{choice.key}_{value}'}"])  # fmt: skip
        res = evaluate(cfg)
        scores.append({"value": value, "success_rate": res["success_rate"],
                       "mean_max_coverage": res.get("mean_max_coverage")})  # fmt: skip
    best = max(range(len(scores)), key=lambda i: (scores[i]["success_rate"],
                                                  scores[i]["mean_max_coverage"] or 0.0, -i))  # fmt: skip
    return {"key": choice.key, "split": "validation", "episodes": choice.episodes,
            "scores": scores, "chosen": scores[best]["value"]}  # fmt: skip


def score_choice_on_test(run_dir: Path, choice: dict[str, Any]) -> dict[str, Any]:
    """The chosen acting setting's one evaluation on the test seeds (results.json of a new record)."""
    from workbench.commands.eval import run as evaluate
    from workbench.config import compose, load_train_config

    first = load_train_config(run_dir / "config.yaml").eval.seed  # the row's test seeds
    out = run_dir / "eval" / f"chosen_{choice['key']}_{choice['chosen']}_test"
    cfg = compose("eval", [f"run={run_dir}", f"seed={first}", "video=false", f"out={out}",
                           f"agent.{choice['key']}={choice['chosen']}"])  # fmt: skip
    evaluate(cfg)
    return dict(json.loads((out / "results.json").read_text()))


def run_seed(
    overrides: list[str], seed: int, choice: Choice | None = None
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Train and evaluate one training seed: (its stored record, its resolved config, the library
    versions its results.json names, if any)."""
    from workbench.commands.train import run as train
    from workbench.config import compose

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cfg = compose("train", [*overrides, f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=false"])
        tic = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - tic
        results_file = run_dir / "eval" / "results.json"
        results = json.loads(results_file.read_text()) if results_file.is_file() else result
        chosen = None
        if choice is not None:
            # The acting setting is chosen on validation seeds; the test seeds score the choice once
            # (the training run's own final evaluation used the preset's value and is not reported).
            chosen = choose_on_validation(run_dir, choice)
            results = score_choice_on_test(run_dir, chosen)
            result = results
        config = _resolved_config(run_dir)
        record = {
            "seed": seed,
            "choice": chosen,
            "success_rate": result["success_rate"],
            "mean_max_coverage": result.get("mean_max_coverage"),
            "expert_labels": result.get("expert_labels"),
            "wall_minutes": wall / 60,
            "samples_per_s": _median_metric(run_dir, "train/samples_per_s"),
            "latency_ms": _latency_ms(run_dir, cfg.env),
            "config_sha256": config_sha256(config),
            "per_episode": per_episode(results),
            # [gradient step, success, return] of the validation evaluations during training
            "curve": curve(run_dir),
        }
    return record, config, results.get("versions")


SeedRunner = Callable[[list[str], int, Any], tuple[dict[str, Any], dict[str, Any], Any]]


def run_row(row: Row, suite: Suite, repo: Path = REPO, runner: SeedRunner | None = None) -> dict[str, Any]:
    """Every training seed of ``row`` (``runner``: how one seed is trained and recorded; the RL suite
    brings its own) and the row's stored entry: commit, tree state, config, versions, seeds."""
    runner = runner or run_seed
    overrides = resolve_overrides(row)
    commit = head_commit(repo)
    dirty_tree = dirty_paths(repo)
    dirty_row = dirty_paths(repo, suite.paths_for(row))
    seeds, config, versions = [], None, None
    for seed in range(row.seeds):
        seed_overrides = [o.replace(SEED_TOKEN, str(seed)) for o in overrides]
        record, seed_config, seed_versions = runner(seed_overrides, seed, row.choose)
        seeds.append(record)
        config = config if config is not None else seed_config
        versions = versions if versions is not None else seed_versions
    # Seeds trained across sessions (the RL and model-based suites record each session): the code of the
    # first session is what shaped the result, whichever session finished it.
    segments = sorted((s for record in seeds for s in record.get("segments", [])), key=lambda s: s["date"])
    if segments:
        commit = segments[0]["commit"]
    return {
        **entry_header(row.key, commit, dirty_tree, dirty_row, overrides),
        # The seed plan (seeds.demos in the config) is what makes seed=S select other demos.
        "seed_plan": bool(config and "seeds" in config),
        "config": config,
        "versions": versions,  # torch, mujoco, ... as the run's results.json recorded them
        "loaded": loaded_sources(repo),  # the Python files the training imported (staleness)
        "seeds": seeds,
    }


def store_for(path: Path) -> ResultStore:
    """``docs/bench/imitation`` (a folder of row files); the first layout's ``imitation.json`` path is
    accepted too and means the folder of the same name, into which that file is migrated."""
    root = path.with_suffix("") if path.suffix == ".json" else path
    store = ResultStore(root)
    migrate_legacy(root.with_suffix(".json"), store, REPO)
    return store


def run_rows(
    name: str,
    suite: Suite,
    store: ResultStore,
    selected: list[str] | None,
    command: str,
    machine: str,
    runner_for: Callable[[str], SeedRunner | None] = lambda key: None,
) -> None:
    """Measure the ``selected`` rows of a suite (all when None) and store each row's entry as soon as
    it is done, so a long benchmark keeps what it has measured. ``runner_for(row)`` trains a seed."""
    for key in selected or []:
        suite.row(key)  # fails with the valid keys before anything runs
    for key in selected or suite.row_keys():
        print(f"bench {name}: {key} ...", flush=True)
        entry = run_row(suite.row(key), suite, runner=runner_for(key))
        earlier = store.load(key)
        if earlier is not None and not any(s.get("trained_now", True) for s in entry["seeds"]):
            # nothing trained now: the stored entry stands as measured (its commit, date, command)
            print(f"bench {name}: {key} unchanged (every seed finished earlier)", flush=True)
            continue
        entry.update(date=f"{datetime.now():%Y-%m-%d %H:%M}", command=command, machine=machine)
        store.save(entry)


def run(selected: list[str] | None, store_path: Path, command: str, machine: str, work: Path = WORK) -> str:
    """Measure the rows; a ``kept`` row trains like an RL row (``rl.seed_runner``): in
    ``work/<row>/seed_<S>``, resumed from its checkpoint when a benchmark was stopped."""
    from workbench.bench import rl  # rl builds on this module

    suite = load_suite(ROWS_FILE)
    store = store_for(store_path)

    def runner_for(key: str) -> SeedRunner | None:
        return rl.seed_runner(work, key) if suite.row(key).kept else None

    run_rows("imitation", suite, store, selected, command, machine, runner_for)
    return render_store(suite, store, REPO, TITLE)
