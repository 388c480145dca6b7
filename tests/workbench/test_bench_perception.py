"""`workbench bench perception`: the row file parses, and the table reports stored results with
their goals checked."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.bench import perception


def test_rows_parse_and_the_table_checks_goals(tmp_path: Path) -> None:
    data = perception.load_rows()
    row = data["rows"][0]
    assert row["dataset"] in data["datasets"]
    assert "not run" in perception.render(data, tmp_path)
    entry = {"commit": None, "command": "workbench bench perception", "date": "2026-11-30", "machine": "m",
             "train_minutes": 12.0, "curve": [[250, 0.5], [500, 0.93]],
             "results": {"map50": 0.95, "map": 0.7, "latency_ms": 12.0}}  # fmt: skip
    (tmp_path / f"{row['key']}.json").write_text(json.dumps(entry))
    table = perception.render(data, tmp_path)
    assert "| mAP@0.5 0.950, mAP@[.5:.95] 0.700 | 12.0 |" in table
    assert "| yes |" in table and "500: 0.93" in table
    entry["results"] = {"map50": 0.5, "map": 0.2, "latency_ms": 12.0}
    (tmp_path / f"{row['key']}.json").write_text(json.dumps(entry))
    assert "| **no** |" in perception.render(data, tmp_path)


def test_ssl_rows_beat_a_random_encoder_or_say_no(tmp_path: Path) -> None:
    data = perception.load_rows()
    row = next(r for r in data["rows"] if r["key"].startswith("ssl_"))
    entry = {"commit": None, "command": "workbench bench perception", "date": "2026-11-30", "machine": "m",
             "train_minutes": 20.0, "curve": [[500, 3.0]],
             "results": {"probe_object": "cube", "probe_error_cm": 1.5, "random_probe_error_cm": 2.5,
                         "latency_ms": 3.0}}  # fmt: skip
    (tmp_path / f"{row['key']}.json").write_text(json.dumps(entry))
    table = perception.render(data, tmp_path)
    line = next(ln for ln in table.splitlines() if f"| {row['key']} |" in ln)
    assert "1.50 cm (random encoder 2.50 cm)" in line and "| yes |" in line
    entry["results"]["probe_error_cm"] = 3.0  # type: ignore[index]
    (tmp_path / f"{row['key']}.json").write_text(json.dumps(entry))
    line = next(ln for ln in perception.render(data, tmp_path).splitlines() if f"| {row['key']} |" in ln)
    assert "| **no** |" in line
