"""Behaviour cloning: masking of padded actions, chunked execution, per-env resets, temporal
ensembling, and the image/RNN/transformer variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.imitation.bc import BCAgent, TemporalEnsembler
from agents.imitation.bc_config import BCConfig
from agents.policy_io import load_policy

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}


def _agent(**kw: int | bool) -> BCAgent:
    torch.manual_seed(0)
    return BCAgent(BCConfig(hidden_dims=[16], **kw), OBS_SPEC, ACTION_SPEC)  # type: ignore[arg-type]


def test_padded_actions_do_not_count() -> None:
    agent = _agent(action_horizon=3, execute_horizon=3)
    batch = {
        "obs/state": torch.randn(4, 1, 3),
        "action": torch.zeros(4, 3, 2),
        "action_is_pad": torch.tensor([[False, True, True]] * 4),
    }
    loss, _ = agent.compute_loss(batch)
    batch["action"][:, 1:] = 100.0  # padded entries: huge but masked out
    loss_padded, _ = agent.compute_loss(batch)
    assert torch.allclose(loss, loss_padded)


def test_chunk_is_executed_before_replanning() -> None:
    agent = _agent(action_horizon=4, execute_horizon=3)
    calls = 0
    forward = agent.forward

    def counting(obs: dict[str, torch.Tensor]) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return forward(obs)

    agent.forward = counting  # type: ignore[method-assign]
    obs = {"state": np.zeros((2, 3), dtype=np.float32)}
    for _ in range(6):
        action = agent.act(obs)
        assert action.shape == (2, 2) and np.all(np.abs(action) <= 1)
    assert calls == 2  # 6 actions = 2 chunks of 3

    agent.reset_envs(np.array([True, False]))
    agent.act(obs)
    assert calls == 3  # the restarted env needs a fresh chunk


def test_history_pads_with_first_observation_after_reset() -> None:
    agent = _agent(obs_horizon=3)
    first = {"state": np.ones((1, 3), dtype=np.float32)}
    agent.act(first)
    np.testing.assert_array_equal(agent._history.history["state"][0], np.ones((3, 3)))
    second = {"state": np.full((1, 3), 2.0, dtype=np.float32)}
    agent.act(second)
    np.testing.assert_array_equal(agent._history.history["state"][0, :, 0], [1, 1, 2])
    agent.reset_envs(np.array([True]))
    agent.act({"state": np.full((1, 3), 5.0, dtype=np.float32)})
    np.testing.assert_array_equal(agent._history.history["state"][0, :, 0], [5, 5, 5])


# --------------------------------------------------------------------------- temporal ensembling (ACT)


def test_ensemble_weights_favour_the_oldest_prediction() -> None:
    ens = TemporalEnsembler(horizon=4, decay=0.5)
    valid = np.array([[True, True, True, False]])  # predictions made 0, 1, 2 steps ago
    w = ens.weights(valid)[0]
    # ACT: w_i = exp(-m i) with i = 0 the oldest, i.e. the prediction made 2 steps ago.
    expected = np.exp(-0.5 * np.array([2.0, 1.0, 0.0]))
    np.testing.assert_allclose(w[:3], expected / expected.sum())
    assert w[3] == 0.0


def test_ensemble_averages_every_prediction_for_the_current_step() -> None:
    horizon, decay = 3, 0.3
    ens = TemporalEnsembler(horizon, decay)
    rng = np.random.default_rng(0)
    chunks = [rng.normal(size=(1, horizon, 2)).astype(np.float32) for _ in range(6)]
    for t, chunk in enumerate(chunks):
        action = ens.update(chunk)
        # Predictions for step t, oldest first: the chunk of step s says chunks[s][:, t - s].
        made = [s for s in range(max(0, t - horizon + 1), t + 1)]
        w = np.exp(-decay * np.arange(len(made)))
        votes = np.stack([chunks[s][0, t - s] for s in made])
        np.testing.assert_allclose(action[0], (w[:, None] * votes).sum(0) / w.sum(), rtol=1e-5)


def test_ensemble_forgets_restarted_envs() -> None:
    ens = TemporalEnsembler(horizon=3, decay=0.0)
    ens.update(np.zeros((2, 3, 1), dtype=np.float32))
    ens.reset_envs(np.array([True, False]))
    action = ens.update(np.ones((2, 3, 1), dtype=np.float32))
    np.testing.assert_allclose(action[:, 0], [1.0, 0.5])  # env 0 only has the new chunk's vote


def test_temporal_ensemble_queries_the_policy_every_step() -> None:
    agent = _agent(action_horizon=4, execute_horizon=1, temporal_ensemble=True)
    calls = 0
    forward = agent.forward

    def counting(obs: dict[str, torch.Tensor]) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return forward(obs)

    agent.forward = counting  # type: ignore[method-assign]
    for _ in range(5):
        agent.act({"state": np.zeros((2, 3), dtype=np.float32)})
    assert calls == 5


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="execute_horizon=1"):
        BCConfig(action_horizon=4, execute_horizon=2, temporal_ensemble=True)
    with pytest.raises(ValueError, match=r"agent\.backbone"):
        BCConfig(backbone="gru")
    with pytest.raises(ValueError, match="crop_ratio"):
        BCConfig(crop_ratio=0.0)


# ------------------------------------------------------------------------------------ every variant


IMAGE_SPEC = {
    "rgb/front": {"shape": [64, 64, 3], "dtype": "uint8"},
    "proprio": {"shape": [5], "dtype": "float32"},
}
TINY = {"hidden_dims": [16], "rnn_hidden_dim": 16, "d_model": 16, "n_layers": 1, "n_heads": 2}
IMAGE = {"image_feature_dim": 8, "num_keypoints": 4, "resnet_width": 8, "crop_ratio": 0.8}


def _image_batch(b: int, to: int, ta: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "obs/rgb/front": torch.randint(0, 256, (b, to, 64, 64, 3), dtype=torch.uint8, generator=g),
        "obs/proprio": torch.randn(b, to, 5, generator=g),
        "action": torch.rand(b, ta, 2, generator=g) * 2 - 1,
        "action_is_pad": torch.zeros(b, ta, dtype=torch.bool),
    }


@pytest.mark.parametrize("backbone", ["mlp", "rnn", "transformer"])
def test_image_variants_train_save_load_and_act_identically(backbone: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = BCConfig(
        obs_keys=["rgb/front", "proprio"], backbone=backbone, obs_horizon=2, action_horizon=3,
        execute_horizon=2, **TINY, **IMAGE,  # type: ignore[arg-type]
    )  # fmt: skip
    agent = BCAgent(config, IMAGE_SPEC, ACTION_SPEC)
    assert agent.encoder.crop_shape["rgb/front"] == (51, 51)
    optimizer = agent.configure_optimizer()
    batch = _image_batch(8, 2, 3)
    for _ in range(3):
        loss, metrics = agent.compute_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert np.isfinite(metrics["loss"])
    # Random crops in training, the deterministic centre crop in evaluation.
    agent.train()
    assert not torch.equal(agent(batch), agent(batch))
    agent.eval()
    assert torch.equal(agent(batch), agent(batch))

    agent.save(tmp_path / "policy.pt")
    loaded = load_policy(tmp_path / "policy.pt")
    assert loaded.name == "bc" and loaded.config == config
    rng = np.random.default_rng(0)
    for _ in range(4):
        obs: dict[str, np.ndarray] = {
            "rgb/front": rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8),
            "proprio": rng.normal(size=(2, 5)).astype(np.float32),
        }
        np.testing.assert_array_equal(agent.act(obs), loaded.act(obs))


def test_depth_or_other_image_keys_are_refused() -> None:
    spec = {"depth/front": {"shape": [8, 8, 1], "dtype": "float32"}}
    with pytest.raises(ValueError, match="rgb/<camera>"):
        BCAgent(BCConfig(obs_keys=["depth/front"]), spec, ACTION_SPEC)
