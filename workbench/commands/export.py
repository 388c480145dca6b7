"""``workbench export dataset=DIR format=lerobot out=DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import ExportConfig


def run(cfg: ExportConfig) -> dict[str, Any]:
    from workbench.export import export_lerobot

    assert cfg.dataset is not None and cfg.out is not None
    info = export_lerobot(Path(cfg.dataset), Path(cfg.out), task=cfg.task)
    print(
        f"exported {info['total_episodes']} episodes, {info['total_frames']} frames "
        f"(LeRobot {info['codebase_version']}) -> {cfg.out}"
    )
    return info
