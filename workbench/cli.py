"""``workbench <command> key=value ...``: the command-line entry point.

Heavy libraries (torch, mujoco, ray) are imported only inside the commands, so ``--help`` is instant.
Bad input ends with one line on stderr and exit code 2; ``debug=true`` shows the traceback.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from workbench.config import CONFIG_DIR, GROUPS, SCHEMAS, group_options
from workbench.errors import UserError, one_line

COMMANDS: dict[str, str] = {
    "train": "train an agent (imitation: expert demos or dataset=DIR; RL: its own rollouts), evaluate, video",
    "eval": "evaluate a run's policy (run=DIR) or a scripted policy (env=ID policy=expert|random)",
    "collect": "record a dataset: env=ID policy=expert episodes=N out=DIR",
    "replay": "re-simulate a recorded episode to video; verify=true checks determinism",
    "export": "convert a dataset for other tools: dataset=DIR format=lerobot out=DIR (LeRobot v3.0)",
    "report": "figures of a run: run=DIR writes a learning curve and a frame strip (PNG)",
    "list": "list registered envs, agents and experiment presets",
    "bench": "benchmarks: `workbench bench <suite>` writes its section of docs/benchmarks.md",
    "perception": "perception datasets, models, pictures, explanations: `workbench perception <action> ...`",
    "sysid": "fit simulator parameters to a target: source=ENV_ID target=ENV_ID|hidden.<param>=V out=FILE",
    "pretrain": "self-supervised encoder pretraining on perception frames: method=simclr|dino|mae data=DIR",
}
# `workbench pretrain method=M ...` is `workbench perception train task=ssl model=M ...` with these
# defaults (SSL views are drawn by the method, so the trainer's flips are off); the run writes
# encoder.pt, which agent.encoder.checkpoint reads.
PRETRAIN_DEFAULTS = ("task=ssl", "flip=false", "steps=2000", "batch_size=64", "lr=0.0005")
BENCH_SUITES = (
    "envs", "appearance", "train", "imitation", "sampler", "rl", "mbrl", "planning", "perception", "ssl",
    "transfer", "vla",
)  # fmt: skip
PERCEPTION_ACTIONS = ("collect", "train", "show", "explain")
# Commands whose first argument chooses what they do; perception's actions have a config each.
SUBCOMMANDS = {"bench": BENCH_SUITES, "perception": PERCEPTION_ACTIONS}

USAGE = """usage: workbench <command> [key=value ...]

Commands:
{commands}

Config groups (choose with group=option):
{groups}

Examples:
  workbench train
  workbench train env=wb/Reach-mujoco-v0 agent.steps=5000 seed=1
  workbench train experiment=reach_bc
  workbench train -m seed=0,1,2 agent.steps=5000      (a sweep: one run per combination, in turn)
  workbench eval run=runs/2026-11-28/12-00-00_Push-mujoco-v0_bc episodes=50
  workbench eval env=wb/Push-mujoco-v0 policy=expert episodes=20
  workbench collect env=wb/Push-mujoco-v0 policy=expert episodes=100 out=data/push
  workbench replay episode=data/push/episodes/episode_000000.npz camera=top verify=true
  workbench export dataset=data/push format=lerobot out=data/push_lerobot

`workbench <command> --help` shows the command's keys and defaults. Add debug=true for tracebacks.
"""


def _groups_text(command: str | None = None) -> str:
    lines = []
    for group in GROUPS:
        if command is not None and not (CONFIG_DIR / f"{command}.yaml").read_text().count(f"{group}:"):
            continue
        options = group_options(group)
        lines.append(f"  {group + '=':<12}{', '.join(options) if options else '(none)'}")
    return "\n".join(lines)


def _nested_types() -> dict[str, type]:
    from workbench import config

    return {
        name: obj
        for name, obj in vars(config).items()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and name not in SCHEMAS
    }


def _fields_text(schema: type, prefix: str = "") -> list[str]:
    nested = _nested_types()
    lines = []
    for f in dataclasses.fields(schema):
        # Annotations are strings under `from __future__ import annotations`.
        sub = nested.get(f.type if isinstance(f.type, str) else getattr(f.type, "__name__", ""))
        if sub is not None:
            lines.extend(_fields_text(sub, f"{prefix}{f.name}."))
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        lines.append(f"  {prefix + f.name:<28} {default!r}")
    return lines


def command_help(command: str) -> str:
    text = [f"usage: workbench {command} [key=value ...]", "", COMMANDS[command], ""]
    if command == "bench":
        text += [f"suites: {', '.join(BENCH_SUITES)}", ""]
    if command == "pretrain":
        text += ["`workbench pretrain method=M key=value ...` runs `workbench perception train` with",
                 f"{' '.join(PRETRAIN_DEFAULTS)} model=M (any of its keys below may be given).",
                 "method: simclr (default), dino, mae; keys of each under simclr.*, dino.*, mae.*", ""]
        text += _fields_text(SCHEMAS["perception_train"])
    if command == "perception":
        text += [f"actions: {', '.join(PERCEPTION_ACTIONS)}", ""]
        for action in PERCEPTION_ACTIONS:
            text += [f"workbench perception {action} keys and defaults:"]
            text += _fields_text(SCHEMAS[f"perception_{action}"])
    if command in SCHEMAS:
        groups = _groups_text(command)
        if groups:
            text += ["Config groups:", groups, ""]
        text += ["Keys and defaults (the agent's keys come from agent=<name>, e.g. agent.lr=3e-4):"]
        text += _fields_text(SCHEMAS[command])
    return "\n".join(text)


def _usage() -> str:
    commands = "\n".join(f"  {name:<9}{text}" for name, text in COMMANDS.items())
    return USAGE.format(commands=commands, groups=_groups_text())


def _runner(command: str) -> Callable[..., Any]:
    import importlib

    module = importlib.import_module(f"workbench.commands.{'list' if command == 'list' else command}")
    run: Callable[..., Any] = module.run
    return run


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        valid = ", ".join(COMMANDS)
        print(f"workbench: unknown command {command!r}; valid commands: {valid}", file=sys.stderr)
        return 2
    if any(a in ("-h", "--help") for a in rest):
        print(command_help(command))
        return 0
    debug = any(a.lower() in ("debug=true", "debug=1", "debug=yes") for a in rest)
    from workbench.signals import Terminated, sigterm_raises

    try:
        with sigterm_raises():
            return _dispatch(command, rest)
    except (KeyboardInterrupt, Terminated) as exc:
        if debug:
            traceback.print_exc()
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        detail = f": {one_line(exc)}" if str(exc) else ""
        print(f"workbench {command}: {what}{detail}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except (UserError, OSError, ValueError) as exc:
        if debug:
            traceback.print_exc()
        print(f"workbench {command}: error: {error_line(exc)}", file=sys.stderr)
        return 2


# What to do about an operating-system fault, by errno: the message names the path, this says the fix.
OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere with run_dir=, runs_root= or out=",
    errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere with run_dir=, runs_root= or out=",
    errno.EACCES: "no permission: write to a directory you own with run_dir=, runs_root= or out=",
    errno.EPERM: "no permission: write to a directory you own with run_dir=, runs_root= or out=",
    errno.ENOTDIR: "a part of this path is a file, not a directory: choose another path",
    errno.EISDIR: "this is a directory: name a file",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
}


def error_line(exc: BaseException) -> str:
    """One line for the user. OS errors carrying a path get the path and what to do; our own
    messages (which name their culprit) pass through."""
    if isinstance(exc, OSError) and exc.filename is not None:
        hint = OS_HINTS.get(exc.errno or 0, "")
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}" + (f" ({hint})" if hint else "")
    if isinstance(exc, OSError) and exc.errno in OS_HINTS:
        return f"{exc.strerror or one_line(exc)} ({OS_HINTS[exc.errno or 0]})"
    return one_line(exc)


def pretrain_arguments(rest: list[str]) -> list[str]:
    """``pretrain`` arguments as ``perception train`` arguments: method=M -> model=M, with the
    pretraining defaults first (an explicit key given later wins)."""
    given = {a.partition("=")[0] for a in rest}
    if "task" in given:
        raise UserError("workbench pretrain trains task=ssl; drop task= (or use workbench perception train)")
    converted = [f"model={a.partition('=')[2]}" if a.startswith("method=") else a for a in rest]
    defaults = [d for d in PRETRAIN_DEFAULTS if d.partition("=")[0] not in given]
    return ["train", *defaults, *converted]


def _dispatch(command: str, rest: list[str]) -> int:
    if command == "pretrain":
        command, rest = "perception", pretrain_arguments(rest)
    multirun = any(a in MULTIRUN_FLAGS for a in rest)
    rest = [a for a in rest if a not in MULTIRUN_FLAGS]
    if command in SUBCOMMANDS and (not rest or rest[0] not in SUBCOMMANDS[command]):
        valid = SUBCOMMANDS[command]
        what = "a suite" if command == "bench" else "an action"
        example = f"workbench {command} {valid[0]}"
        raise UserError(f"{command} needs {what}: one of {', '.join(valid)} (e.g. {example})")
    suite = None
    if command in SUBCOMMANDS:
        suite, rest = rest[0], rest[1:]
    bad = [a for a in rest if "=" not in a]
    if bad:
        raise UserError(f"arguments must be key=value, got {bad[0]!r}; see workbench {command} --help")
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    if command == "list":
        _runner("list")(None)
        return 0
    if multirun:
        return _multirun(command, suite, rest)
    _run_one(command, suite, rest)
    return 0


def _run_one(command: str, suite: str | None, overrides: list[str], run_dir: str | None = None) -> Any:
    from workbench.config import compose

    cfg = compose(f"{command}_{suite}" if command == "perception" else command, overrides)
    if run_dir is not None:
        cfg.run_dir = run_dir
    return _runner(command)(cfg, suite) if suite is not None else _runner(command)(cfg)


# ------------------------------------------------------------------------------------- multirun
MULTIRUN_FLAGS = ("-m", "--multirun")


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """Hydra's BasicSweeper semantics: every override with a sweep (``seed=0,1,2``, ``choice(a,b)``,
    ``range(3)``) contributes its values, and the jobs are their cartesian product, the first
    override varying slowest. Parsing is Hydra's own, so quoting (``x='a,b'``) and lists
    (``x=[1,2]``, one value) mean what they mean to Hydra."""
    import itertools

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType
    from hydra.errors import HydraException

    from workbench.config.compose import quote_values

    try:
        parsed = OverridesParser.create().parse_overrides(quote_values(overrides))
    except HydraException as exc:
        raise UserError(f"cannot parse the overrides: {one_line(exc)}") from exc
    choices: list[list[str]] = []
    for override in parsed:
        if not override.is_sweep_override():
            choices.append([str(override.input_line)])
        elif override.is_discrete_sweep() and override.value_type != ValueType.GLOB_CHOICE_SWEEP:
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            raise UserError(
                f"{override.input_line}: only value lists (a,b), choice(...) and range(...) can be "
                "swept here; list the values instead"
            )
    return [list(job) for job in itertools.product(*choices)]


def _job_run_dirs(command: str, jobs: list[list[str]]) -> list[str | None]:
    """One run directory per training job: timestamped run directories are named to the second,
    so jobs would share one; a shared run_dir=X gets a numbered subfolder per job (Hydra's layout)."""
    if command != "train":
        return [None] * len(jobs)
    from datetime import datetime

    from workbench.config import compose

    stamp = datetime.now()
    cfgs = [compose(command, job) for job in jobs]
    given = [cfg.run_dir for cfg in cfgs]
    if all(d is not None for d in given) and len(set(given)) == len(given):
        return [None] * len(jobs)  # the sweep itself names a distinct run_dir per job
    out: list[str | None] = []
    for i, cfg in enumerate(cfgs):
        if cfg.resume is not None:
            out.append(None)
        elif cfg.run_dir is not None:
            out.append(os.path.join(cfg.run_dir, str(i)))
        else:
            day, time = stamp.strftime("%Y-%m-%d"), stamp.strftime("%H-%M-%S")
            out.append(os.path.join(cfg.runs_root, day, f"{time}_multirun", str(i)))
    return out


def _summary(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    keys = ("success_rate", "mean_return")
    parts = [f"{k} {result[k]:.3f}" for k in keys if isinstance(result.get(k), float)]
    if result.get("run_dir"):
        parts.append(f"run_dir {result['run_dir']}")
    return f" ({', '.join(parts)})" if parts else ""


def _multirun(command: str, suite: str | None, overrides: list[str]) -> int:
    """Run every job of the sweep in sequence; a failed job does not stop the others. Exit 1 if any
    job failed, after a summary line per job."""
    import time

    jobs = expand_sweeps(overrides)
    run_dirs = _job_run_dirs(command, jobs)
    swept = [i for i, o in enumerate(overrides) if len({job[i] for job in jobs}) > 1]
    debug = any(a.lower() in ("debug=true", "debug=1", "debug=yes") for a in overrides)
    summaries = []
    for n, (job, run_dir) in enumerate(zip(jobs, run_dirs, strict=True)):
        label = " ".join(job[i] for i in swept) or " ".join(job) or "(defaults)"
        print(f"multirun [{n + 1}/{len(jobs)}] workbench {command} {' '.join(job)}", flush=True)
        tic = time.perf_counter()
        try:
            result = _run_one(command, suite, job, run_dir)
            line = f"ok in {time.perf_counter() - tic:.1f} s{_summary(result)}"
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one failed job must not cost the rest of the sweep
            if debug:
                traceback.print_exc()
            line = f"FAILED: {one_line(exc)}"
        summaries.append(f"multirun [{n + 1}/{len(jobs)}] {label}: {line}")
        print(summaries[-1], flush=True)
    failed = sum("FAILED" in s for s in summaries)
    print(f"multirun: {len(jobs) - failed}/{len(jobs)} jobs ok", flush=True)
    for line in summaries:
        print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
