"""Contract tests over every AgentSpec: a valid spec; builds, trains, saves, loads, acts the same."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.base import OfflineAgent, Policy
from agents.policy_io import load_policy
from agents.registry import AGENTS, FAMILIES, agent_class
from foundation.files import checksum_path
from workbench.dataset import SequenceDataset

TRAINERS = ("offline", "online", "rllib", "model_based")  # what workbench/train builds (perception: coming)
# Offline agents on state; the language-conditioned (VLA) ones: tests/agents/test_vla.py.
OFFLINE = sorted(
    name for name, spec in AGENTS.items()
    if spec.family == "offline" and "instruction" not in spec.config().obs_keys
)  # fmt: skip


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_agent_spec_is_complete(name: str) -> None:
    spec = AGENTS[name]
    config = spec.config()
    assert spec.name == name == config.name
    assert spec.family in FAMILIES and spec.trainer in TRAINERS and spec.summary
    fields = {f.name for f in dataclasses.fields(config)}
    assert set(spec.acting_keys) <= fields, "acting keys must be config fields"
    assert isinstance(spec.load_class(), type)


@pytest.mark.parametrize("name", OFFLINE)  # online agents: tests/agents/test_rl_agents.py
def test_agent_trains_saves_loads_and_acts_identically(
    name: str, reach_dataset: Path, tmp_path: Path
) -> None:
    from workbench.data import load_meta

    meta = load_meta(reach_dataset)
    config = AGENTS[name].config(action_horizon=4, execute_horizon=2, obs_horizon=2, steps=10)
    data = SequenceDataset(reach_dataset, config.obs_keys, config.obs_horizon, config.action_horizon)
    torch.manual_seed(0)
    agent = agent_class(name)(config, meta["obs_spec"], meta["action_spec"], data.stats)
    optimizer = agent.configure_optimizer()
    losses = []
    for step in range(30):
        batch = data.sample_batch(np.arange(step, step + 32) % len(data))
        loss, metrics = agent.compute_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(metrics["loss"])
    assert losses[-1] < losses[0], "loss does not decrease"
    assert isinstance(agent, Policy) and isinstance(agent, OfflineAgent)

    path = tmp_path / "policy.pt"
    agent.save(path)
    loaded = load_policy(path)
    rng = np.random.default_rng(0)
    obs_dim = meta["obs_spec"]["state"]["shape"][0]
    agent.reset()
    loaded.reset()
    for _ in range(5):  # several calls: history and the action queue must behave the same too
        obs = {"state": rng.normal(size=(3, obs_dim)).astype(np.float32)}
        np.testing.assert_array_equal(agent.act(obs), loaded.act(obs))


def test_corrupt_policy_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "policy.pt"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="corrupt"):
        load_policy(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        load_policy(tmp_path / "missing.pt")


def test_policy_file_of_another_format_version_is_refused(reach_dataset: Path, tmp_path: Path) -> None:
    from workbench.data import load_meta

    meta = load_meta(reach_dataset)
    agent = agent_class("bc")(AGENTS["bc"].config(), meta["obs_spec"], meta["action_spec"])
    path = tmp_path / "policy.pt"
    agent.save(path)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "version": 99}, path)
    with pytest.raises(ValueError, match="sha256 does not match"):  # rewritten after its checksum
        load_policy(path)
    checksum_path(path).unlink()  # as a file of another workbench version, without our sidecar
    with pytest.raises(ValueError, match="format version 99; this workbench reads version 2"):
        load_policy(path)
