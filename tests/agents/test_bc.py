"""Behaviour cloning: masking of padded actions, chunked execution, per-env resets, temporal
ensembling, the transformer's per-position loss, and the image/RNN/transformer variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.encoder_config import EncoderConfig
from agents.imitation.bc import BCAgent, TemporalEnsembler, per_position_targets
from agents.imitation.bc_config import BCConfig
from agents.policy_io import load_policy

OBS_SPEC = {"state": {"shape": [3], "dtype": "float32"}}
ACTION_SPEC = {"shape": [2], "dtype": "float32", "low": [-1, -1], "high": [1, 1]}


def _agent(**kw: object) -> BCAgent:
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
        BCConfig(encoder=EncoderConfig(crop_ratio=0.0))


# ------------------------------------------------------------------- transformer: every position counts


def _window_batch(b: int, to: int, ta: int, start: int) -> dict[str, torch.Tensor]:
    """Samples at step t = start + i (row i) of one long episode whose action at step s is (s, -s)."""
    t = start + torch.arange(b)[:, None]  # (B, 1)
    past_t, act_t = t + torch.arange(-to + 1, 0), t + torch.arange(ta)  # (B, To-1), (B, Ta)
    as_action = lambda s: torch.stack([s, -s], -1).float()  # noqa: E731
    return {
        "obs/state": torch.randn(b, to, 3),
        "past_action": as_action(past_t.clamp_min(0)),  # (B, To-1, 2), the first action repeats
        "past_action_is_pad": past_t < 0,
        "action": as_action(act_t),  # (B, Ta, 2)
        "action_is_pad": torch.zeros(b, ta, dtype=torch.bool),
    }


def test_per_position_targets_start_at_each_history_frame() -> None:
    batch = _window_batch(2, to=3, ta=2, start=1)  # t = 1 (one frame before the start) and t = 2
    batch["action_is_pad"][1, 1] = True  # pretend step 3 is past the episode end
    targets, valid = per_position_targets(batch, horizon=2)
    assert targets.shape == (2, 3, 2, 2) and valid.shape == (2, 3, 2)
    # Position j is the frame of step s = t-2+j and targets a[s], a[s+1].
    assert targets[1, :, :, 0].tolist() == [[0, 1], [1, 2], [2, 3]]
    assert targets[0, 1:, :, 0].tolist() == [[0, 1], [1, 2]]
    assert valid[0].tolist() == [[False, False], [True, True], [True, True]]  # frame -1 is padding
    assert valid[1].tolist() == [[True, True], [True, True], [True, False]]  # step 3 is padding


def test_transformer_is_supervised_at_every_position_and_acts_from_the_last() -> None:
    agent = _agent(backbone="transformer", obs_horizon=4, action_horizon=2, execute_horizon=1, d_model=16,
                   n_layers=1, n_heads=2, dropout=0.0)  # fmt: skip
    batch = _window_batch(3, to=4, ta=2, start=1)  # t = 1, 2, 3: frames t-3 .. t, 2, 1, 0 before the start
    outputs: list[torch.Tensor] = []
    forward_all = agent.backbone.forward_all

    def keep(feats: torch.Tensor) -> torch.Tensor:
        out = forward_all(feats)  # (B, To, Ta * A)
        if out.requires_grad:
            out.retain_grad()
        outputs.append(out)
        return out

    agent.backbone.forward_all = keep  # type: ignore[method-assign]
    loss, _ = agent.compute_loss(batch)
    loss.backward()
    grad = outputs[0].grad
    assert grad is not None and grad.shape == (3, 4, 4)
    supervised = grad.abs().sum(-1) > 0  # (B, To)
    assert supervised[2].all()  # every position's output is in the loss, position 0 too
    assert supervised.tolist()[:2] == [[False, False, True, True], [False, True, True, True]]  # not padding

    # a[t-3] is a target of position 0 only: moving it moves the loss where frame t-3 is real.
    moved = {**batch, "past_action": batch["past_action"].clone()}
    moved["past_action"][2, 0] += 1.0
    assert agent.compute_loss(moved)[0] > agent.compute_loss(batch)[0] + 1e-3
    padded = {**batch, "past_action": batch["past_action"].clone()}
    padded["past_action"][:2, 0] += 1.0  # rows 0, 1: frame t-3 is padding, its target does not count
    assert torch.equal(agent.compute_loss(padded)[0], agent.compute_loss(batch)[0])

    # Acting reads the last position only: the chunk equals forward_all's last output.
    agent.eval()
    with torch.no_grad():
        last = forward_all(agent.encoder(batch))[:, -1].view(3, 2, 2)
        torch.testing.assert_close(agent(batch), last)


def test_other_backbones_ignore_the_past_actions() -> None:
    for backbone in ("mlp", "rnn"):
        agent = _agent(backbone=backbone, obs_horizon=3, action_horizon=2, execute_horizon=1)
        batch = _window_batch(4, to=3, ta=2, start=3)
        moved = {**batch, "past_action": batch["past_action"] + 5.0}
        assert torch.equal(agent.compute_loss(batch)[0], agent.compute_loss(moved)[0])


# ------------------------------------------------------------------------------------ every variant


IMAGE_SPEC = {
    "rgb/front": {"shape": [64, 64, 3], "dtype": "uint8"},
    "proprio": {"shape": [5], "dtype": "float32"},
}
TINY = {"hidden_dims": [16], "rnn_hidden_dim": 16, "d_model": 16, "n_layers": 1, "n_heads": 2}
IMAGE = {"encoder": EncoderConfig(feature_dim=8, num_keypoints=4, width=8, crop_ratio=0.8)}


def _image_batch(b: int, to: int, ta: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "obs/rgb/front": torch.randint(0, 256, (b, to, 64, 64, 3), dtype=torch.uint8, generator=g),
        "obs/proprio": torch.randn(b, to, 5, generator=g),
        "action": torch.rand(b, ta, 2, generator=g) * 2 - 1,
        "action_is_pad": torch.zeros(b, ta, dtype=torch.bool),
        "past_action": torch.rand(b, to - 1, 2, generator=g) * 2 - 1,
        "past_action_is_pad": torch.zeros(b, to - 1, dtype=torch.bool),
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


# ------------------------------------------------------------------------------ binary gripper head


def test_binary_gripper_head_learns_the_switch_and_acts_at_the_extremes(tmp_path: Path) -> None:
    """The expert opens (+1) when state[0] > 0 and closes (-1) otherwise; the arm entry copies state[1].
    The binary head learns the decision and acts +-1; a reload acts identically."""
    torch.manual_seed(0)
    agent = BCAgent(BCConfig(hidden_dims=[32], gripper_head="binary"), OBS_SPEC, ACTION_SPEC)
    states = torch.rand(512, 1, 3) * 2 - 1
    actions = torch.stack([states[:, 0, 1], torch.where(states[:, 0, 0] > 0, 1.0, -1.0)], -1)[:, None]
    batch = {"obs/state": states, "action": actions, "action_is_pad": torch.zeros(512, 1, dtype=torch.bool)}
    optim = torch.optim.Adam(agent.parameters(), lr=3e-3)
    for _ in range(300):
        loss, info = agent.compute_loss(batch)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert info["gripper_accuracy"] > 0.95 and info["arm_mse"] < 0.05
    test = np.array([[0.5, 0.2, 0.0], [-0.5, -0.3, 0.0]], dtype=np.float32)
    action = agent.act({"state": test})
    np.testing.assert_array_equal(action[:, 1], [1.0, -1.0])  # a decision, not a blend
    np.testing.assert_allclose(action[:, 0], [0.2, -0.3], atol=0.15)
    agent.save(tmp_path / "policy.pt")
    loaded = load_policy(tmp_path / "policy.pt")
    loaded.reset()
    np.testing.assert_array_equal(loaded.act({"state": test}), action)


def test_binary_gripper_head_needs_a_vector_action() -> None:
    with pytest.raises(ValueError, match="gripper_head=binary"):
        BCAgent(BCConfig(gripper_head="binary"), OBS_SPEC, {"shape": [1], "low": [-1], "high": [1]})
    with pytest.raises(ValueError, match="gripper_head"):
        BCConfig(gripper_head="sigmoid")
