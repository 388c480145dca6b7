"""``workbench train``: demos (collected or from ``dataset=``) -> training -> evaluation -> video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.config import TrainConfig


def run(cfg: TrainConfig) -> dict[str, Any]:
    from workbench.train.run import summary_lines, train

    results = train(cfg)
    print("\n".join(summary_lines(Path(results["run_dir"]), results)))
    return results
