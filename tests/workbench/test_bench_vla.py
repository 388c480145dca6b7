"""``workbench bench vla``: the rows file parses, and the table states every goal met or missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.bench import vla
from workbench.bench.rows import RowError
from workbench.bench.store import ResultStore, entry_header


def test_rows_file_parses_and_every_row_trains_a_vla() -> None:
    suite = vla.load_suite()
    assert suite.row_keys and all(r.overrides[0].startswith("experiment=tabletop_vla_") for r in suite.rows)
    assert any("unseen_paraphrase" in r.min_ratio for r in suite.rows if "minilm" in " ".join(r.overrides))
    with pytest.raises(RowError, match="unknown vla row"):
        suite.row("nope")


def test_table_states_goals_met_and_missed(tmp_path: Path) -> None:
    suite = vla.load_suite()
    row = suite.rows[1]
    store = ResultStore(tmp_path)
    success = {"seen": 0.7, "unseen_colour_shape": 0.35, "unseen_verb_object": 0.2, "unseen_paraphrase": 0.63}
    seed = {"seed": 0, "success": success, "latency_ms": 12.0, "wall_minutes": 50.0, "samples_per_s": 100.0}
    entry = entry_header(row.key, None, None, None, list(row.overrides))
    store.save({**entry, "date": "d", "machine": "m", "command": "c", "seeds": [seed]})
    table = vla.render(suite, store)
    line = next(li for li in table.splitlines() if li.startswith(f"| {row.agent} | {row.text} | 70%"))
    assert "unseen_colour_shape >= 0.75x seen: **missed** (0.50x)" in line
    assert "unseen_paraphrase >= 0.8x seen: met" in line and "seen >= 60%: met" in line
    assert "latency <= 30 ms: met" in line
    assert "not run" in table  # the other rows
