"""``python -m workbench.bench [docs/benchmarks.md]``: re-render the imitation, RL and model-based RL
sections (and their learning curves) from the stored results (configs/bench/*.yaml +
docs/bench/<suite>/*.json), training nothing. Use it after editing a row's goals or notes, or to
refresh the stale column after commits."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.bench import appearance, perception, planning, rl, transfer, vla
from workbench.bench.imitation import REPO, ROWS_FILE, TITLE, store_for
from workbench.bench.render import render_store
from workbench.bench.rows import load_suite


def main(argv: list[str]) -> int:
    from workbench.commands.bench import write_section

    out = Path(argv[0]) if argv else REPO / "docs" / "benchmarks.md"
    body = render_store(load_suite(ROWS_FILE), store_for(REPO / "docs" / "bench" / "imitation"), REPO, TITLE)
    write_section(out, "imitation", body)
    for where in rl.SUITES.values():
        write_section(out, where.name, rl.rerender(where))
    if planning.STORE.is_file():
        result = planning.load()
        stamp = f"{result.get('date', '')}, {result.get('machine', '')}"
        body = planning.render(result, result["command"], stamp, planning.status(result))
        write_section(out, "planning", body)
    if any(perception.STORE.glob("*.json")):
        write_section(out, "perception", perception.rerender())
    if appearance.STORE.is_file():
        write_section(out, "appearance", appearance.render(appearance.load()))
    if any(transfer.STORE.glob("*.json")):
        write_section(out, "transfer", transfer.render())
    if any(vla.STORE.glob("*.json")):
        write_section(out, "vla", vla.render())
    print(f"wrote the benchmark sections of {out} and their curves in docs/img/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
