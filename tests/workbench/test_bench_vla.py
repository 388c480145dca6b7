"""``workbench bench vla``: the rows file parses, and the table states every goal met or missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.bench import vla
from workbench.bench.rows import RowError
from workbench.bench.store import ResultStore, entry_header


def test_rows_file_parses_and_every_row_trains_a_vla() -> None:
    suite = vla.load_suite()
    vlas = [r for r in suite.rows if not r.key.endswith("_control")]  # controls bound them (BC on state)
    assert vlas and all(r.overrides[0].startswith("experiment=tabletop_vla_") for r in vlas)
    assert any("unseen_paraphrase" in r.min_ratio for r in suite.rows if "minilm" in " ".join(r.overrides))
    with pytest.raises(RowError, match="unknown vla row"):
        suite.row("nope")
    # every row names a demonstration set the suite defines; rows without one take the first
    assert all(suite.dataset_of(r)[0] in suite.datasets for r in suite.rows)
    assert suite.dataset_of(vla.VLARow("k", "a", "t", ()))[0] == next(iter(suite.datasets))
    assert {suite.demos_of(r) for r in suite.rows} >= {800}


def test_a_row_naming_an_unknown_dataset_is_refused(tmp_path: Path) -> None:
    rows = tmp_path / "vla.yaml"
    rows.write_text(
        "datasets: {a: {dir: a, collect: [episodes=2]}}\n"
        "rows: [{key: r, agent: x, text: y, dataset: b, overrides: [experiment=tabletop_vla_rt]}]\n"
    )
    with pytest.raises(RowError, match="dataset 'b' is not one of"):
        vla.load_suite(rows)


def test_table_states_goals_met_and_missed(tmp_path: Path) -> None:
    suite = vla.load_suite()
    row = suite.rows[1]
    store = ResultStore(tmp_path)
    success = {"seen": 0.7, "unseen_colour_shape": 0.35, "unseen_verb_object": 0.2, "unseen_paraphrase": 0.63}
    seed = {"seed": 0, "success": success, "latency_ms": 12.0, "wall_minutes": 50.0, "samples_per_s": 100.0}
    entry = entry_header(row.key, None, None, None, list(row.overrides))
    store.save({**entry, "date": "d", "machine": "m", "command": "c", "seeds": [seed]})
    table = vla.render(suite, store)
    line = next(li for li in table.splitlines() if li.startswith(f"| {row.agent} | {row.text} | 800 | 70%"))
    assert "unseen_colour_shape >= 0.75x seen: **missed** (0.50x)" in line
    assert "unseen_paraphrase >= 0.8x seen: met" in line and "seen >= 60%: met" in line
    assert "latency <= 30 ms: met" in line
    assert "not run" in table  # the other rows


def test_every_instruction_form_names_its_verb() -> None:
    from envs.tasks.language_splits import PARAPHRASES
    from envs.tasks.tabletop import TEMPLATES

    for verb, templates in TEMPLATES.items():
        for template in (*templates, *PARAPHRASES[verb]):
            assert vla.verb_of(template.format(src="red cube", dst="blue")) == verb
    with pytest.raises(ValueError, match="none of Tabletop's instructions"):
        vla.verb_of("juggle the red cube")


def test_by_verb_table_sums_seeds(tmp_path: Path) -> None:
    suite = vla.load_suite()
    row = suite.rows[0]
    store = ResultStore(tmp_path)
    verbs = {"push": [1, 3], "lift": [2, 2]}
    seeds = [{"seed": i, "success": {}, "by_verb": dict.fromkeys(vla.SPLITS, verbs)} for i in (0, 1)]
    store.save({**entry_header(row.key, None, None, None, []), "seeds": seeds})
    table = vla.by_verb_table(suite, store.load_all(suite.row_keys))
    line = next(li for li in table if li.startswith(f"| {row.key} |"))
    assert line.count("push 2/6, put 0/0, lift 4/4") == len(vla.SPLITS)

