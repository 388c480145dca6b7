"""``workbench report run=RUN_DIR``: learning curve and frame strip of a run, as PNG files."""

from __future__ import annotations

from pathlib import Path

from workbench.config import ReportConfig
from workbench.errors import UserError


def run(cfg: ReportConfig) -> list[Path]:
    from workbench.report import frame_strip, learning_curve, path_overlay

    assert cfg.run is not None
    run_dir = Path(cfg.run)
    if not run_dir.is_dir():
        raise UserError(f"run={run_dir}: no such run directory")
    out = Path(cfg.out) if cfg.out else run_dir / "report"
    written = [
        learning_curve(run_dir, out / "learning_curve.png"),
        frame_strip(run_dir, out / "frames.png", cfg.camera, cfg.frames, cfg.size),
    ]
    paths = path_overlay(run_dir, out / "paths.png")
    if paths is not None:
        written.append(paths)
    for path in written:
        print(f"wrote {path}")
    return written
