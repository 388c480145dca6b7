"""``workbench export dataset=DIR format=lerobot out=DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import ExportConfig


def run(cfg: ExportConfig) -> dict[str, Any]:
    from workbench.export import export_lerobot

    if cfg.format == "sb3":
        from workbench.export_sb3 import export_sb3

        assert cfg.run is not None and cfg.out is not None
        path = export_sb3(Path(cfg.run), Path(cfg.out))
        print(f"exported {cfg.run} as a Stable-Baselines3 file -> {path}")
        return {"out": str(path)}
    assert cfg.dataset is not None and cfg.out is not None
    info = export_lerobot(Path(cfg.dataset), Path(cfg.out), task=cfg.task)
    print(
        f"exported {info['total_episodes']} episodes, {info['total_frames']} frames "
        f"(LeRobot {info['codebase_version']}) -> {cfg.out}"
    )
    return info
