"""Saved agent configs of earlier versions load into today's classes (agents/config_migrations.py):
policy files through ``config_from_dict``, run directories through ``load_train_config``."""

from __future__ import annotations

from pathlib import Path

import yaml

from agents.config_migrations import RETIRED, migrate_agent_config
from agents.policy_io import config_from_dict
from agents.vla.config import RTConfig
from workbench.config import load_train_config


def test_retired_training_keys_are_dropped_on_load(tmp_path: Path) -> None:
    old = {"name": "vla_rt", "aux_near_indices": [18, 19, 20], "aux_near_radius": 0.04}
    old["aux_near_weight"] = 0.1
    assert set(old) - set(migrate_agent_config(old)) == set(RETIRED)
    assert config_from_dict(RTConfig, old) == RTConfig()
    run = tmp_path / "run"
    run.mkdir()
    env = {"id": "wb/Tabletop-mujoco-v0", "obs_mode": "rgb+proprio+instruction", "cameras": ["agentview"]}
    (run / "config.yaml").write_text(yaml.safe_dump({"agent": old, "env": env}))
    loaded = load_train_config(run / "config.yaml").agent
    assert loaded.aux_indices == RTConfig().aux_indices and not hasattr(loaded, "aux_near_indices")
