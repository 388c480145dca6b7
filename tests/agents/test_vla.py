"""The vision-language-action agents (agents/vla): the registry contract on Tabletop demonstrations, a
tiny VLA overfitting a few demos, the policy reading only what it is allowed to, and the text encoders."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.base import OfflineAgent, Policy
from agents.policy_io import load_policy, read_policy
from agents.registry import AGENTS, agent_class
from agents.vla.config import TextConfig
from foundation.text_codes import decode_texts, encode_texts
from workbench.dataset import SequenceDataset

VLA = sorted(n for n, s in AGENTS.items() if s.family == "offline" and "instruction" in s.config().obs_keys)
KEYS = ["rgb/agentview", "proprio", "instruction"]
SMALL = {"widths": [8, 16], "d_model": 32, "n_heads": 2, "text": TextConfig(dim=16, heads=2)}
# The action heads: plain; grounded (readout + predicted positions); grounded with teacher forcing and,
# for vla_rt, no readout (actions from the positions and proprio alone).
HEADS = {
    "plain": {},
    "grounded": {"grounded": True},
    "teacher": {"grounded": True, "grounded_teacher": True},
    # vla_rt only: heatmap points of its trunk, HL-Gauss bin labels, the mean over bins when acting
    "spatial": {"grounded": True, "grounding": "spatial", "bin_sigma": 1.0, "bin_decode": "mean"},
}
CASES = [(n, k) for n in VLA for k in HEADS if not (k == "spatial" and n != "vla_rt")]


def head(name: str, kind: str) -> dict[str, Any]:
    extra = {"grounded_readout": False} if kind == "teacher" and name == "vla_rt" else {}
    return {**HEADS[kind], **extra}


def small_config(name: str, **kw: Any) -> Any:
    extra = {"expert_d_model": 32} if name == "vla_pi0" else {"bins": 32}
    return AGENTS[name].config(**{"obs_keys": KEYS, **SMALL, **extra, **kw})


def build(name: str, root: Path, **kw: Any) -> tuple[Any, SequenceDataset, dict[str, Any]]:
    from workbench.data import load_meta
    from workbench.train.run import training_keys

    meta = load_meta(root)
    config = small_config(name, **kw)
    data = SequenceDataset(root, training_keys(config), config.obs_horizon, config.action_horizon)
    torch.manual_seed(0)
    return agent_class(name)(config, meta["obs_spec"], meta["action_spec"], data.stats), data, meta


def observations(data: SequenceDataset, rows: np.ndarray) -> dict[str, Any]:
    """Env-style observations (B, ...) of dataset frames ``rows``, the instruction as strings."""
    return {
        "rgb/agentview": data.obs["rgb/agentview"][rows],
        "proprio": data.obs["proprio"][rows],
        "instruction": np.array(decode_texts(data.obs["instruction"][rows])),
        "state": data.obs["state"][rows],
    }


def test_there_are_two_vla_agents() -> None:
    assert VLA == ["vla_pi0", "vla_rt"]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_vla_trains_saves_loads_and_acts_identically(
    name: str, kind: str, tabletop_dataset: Path, tmp_path: Path
) -> None:
    agent, data, _ = build(name, tabletop_dataset, action_horizon=4, execute_horizon=2, obs_horizon=2,
                           **head(name, kind))  # fmt: skip
    assert isinstance(agent, Policy) and isinstance(agent, OfflineAgent)
    optimizer = agent.configure_optimizer()
    losses = []
    for step in range(25):
        batch = data.sample_batch(np.arange(step * 16, step * 16 + 16) % len(data))
        loss, metrics = agent.compute_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(metrics["loss"])
    assert np.mean(losses[-5:]) < np.mean(losses[:5]), "loss does not decrease"
    path = tmp_path / "policy.pt"
    agent.save(path)
    loaded = load_policy(path)
    assert loaded.config.text.vocabulary == agent.config.text.vocabulary  # the learned words travel along
    for policy in (agent, loaded):
        policy.eval()
        policy.reset()
        policy.reset_envs(np.ones(3, dtype=bool), [1, 2, 3])  # per-episode noise (pi0's flow)
    for step in range(4):  # several calls: history and the action queue behave the same too
        obs = observations(data, np.arange(3) * 7 + step)
        np.testing.assert_array_equal(agent.act(obs), loaded.act(obs))


@pytest.mark.parametrize("name", VLA)
def test_tiny_vla_overfits_a_few_demos(name: str, tabletop_dataset: Path) -> None:
    """Trained on one demo's frames until it knows them: its chunks reproduce the expert's actions far
    better than the best constant guess."""
    agent, data, _ = build(name, tabletop_dataset, action_horizon=2, execute_horizon=1, image_crop=1.0,
                           aux_key=None, lr=3e-3, warmup_steps=0)  # fmt: skip
    frames = np.arange(int(data.episode_ranges[0, 1]))  # the first episode
    optimizer = agent.configure_optimizer()
    for step in range(300 if name == "vla_pi0" else 100):  # a classifier's bins settle faster
        batch = data.sample_batch(np.random.default_rng(step).choice(frames, 32))
        loss, _ = agent.compute_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    agent.eval()
    batch = data.sample_batch(frames)
    with torch.no_grad():
        chunk = agent.predict_chunk(batch, torch.Generator().manual_seed(0))  # (N, Ta, A)
    actions = batch["action"][~batch["action_is_pad"]]  # (n, A)
    error = (chunk[~batch["action_is_pad"]] - actions).abs().mean()
    constant = (actions - actions.median(dim=0).values).abs().mean()  # the best constant's error
    # a flow's 5-step samples converge more slowly than a classifier's most likely bin (here: 0.38 of
    # the constant's error after 300 steps; the classifier 0.15 after 100)
    bound = 0.45 if name == "vla_pi0" else 0.25
    assert error < bound * constant, f"action error {error:.3f} vs {constant:.3f} of the best constant"


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_policy_never_reads_the_state(name: str, kind: str, tabletop_dataset: Path) -> None:
    """The env's privileged state is a training-only target: acting ignores it (here: garbage), also
    when the action head reads the grounding head's positions (agent.grounded: predicted, not read),
    and when training fed it the true ones (agent.grounded_teacher)."""
    agent, data, _ = build(name, tabletop_dataset, **head(name, kind))
    agent.eval()
    obs = observations(data, np.array([0, 9]))
    actions = []
    for state in (obs["state"], np.full_like(obs["state"], 1e6)):
        agent.reset()
        agent.reset_envs(np.ones(2, dtype=bool), [5, 6])
        actions.append(agent.act({**obs, "state": state}))
    np.testing.assert_array_equal(*actions)


def test_teacher_forcing_feeds_true_positions_in_training_only(tabletop_dataset: Path) -> None:
    agent, data, _ = build("vla_rt", tabletop_dataset, **head("vla_rt", "teacher"))
    batch = data.sample_batch(np.arange(4))
    garbage = torch.full((4, agent.aux_dim), 7.0)
    true = agent.aux_norm.normalize(batch["obs/state"][:, -1, agent.config.aux_indices].float())
    agent.train()
    torch.testing.assert_close(agent.grounding(garbage, batch)[:, : agent.aux_dim], true)
    agent.eval()
    torch.testing.assert_close(agent.grounding(garbage, batch)[:, : agent.aux_dim], garbage)
    with pytest.raises(ValueError, match="grounded=true"):
        small_config("vla_rt", grounded_teacher=True)
    with pytest.raises(ValueError, match="vla_rt's"):
        small_config("vla_pi0", grounded=True, grounded_readout=False)


def test_spatial_grounding_reads_image_points_not_the_proprioception(tabletop_dataset: Path) -> None:
    """agent.grounding=spatial: the grounding head's positions do not move when the proprioception does
    (the token head's shortcut, "the object is where the hand is", is closed), and the points it reads
    are in the frame's pixels: the crop's offset is added back, so shifting the window does not move the
    table."""
    from agents.vla.spatial import SpatialGrounding

    agent, data, _ = build("vla_rt", tabletop_dataset, grounding="spatial")
    agent.eval()
    batch = data.sample_batch(np.arange(3))
    with torch.no_grad():
        ground = agent.features(batch)[1]
        moved = agent.features({**batch, "obs/proprio": batch["obs/proprio"] + 5.0})[1]
    torch.testing.assert_close(ground, moved)
    _, offsets = agent.images_and_offsets(batch)
    full_h, crop_h = batch["obs/rgb/agentview"].shape[2], agent.crop_hw[0]
    assert offsets[0].tolist() == [(full_h - crop_h) // 2] * 2  # acting: the centre
    head = SpatialGrounding([4], cond_dim=3, keypoints=1)
    with torch.no_grad():
        head.heat.weight.zero_()
        head.heat.bias.fill_(0.0)  # a flat heatmap: the point is the crop's centre
        maps, cond = [torch.randn(1, 4, 5, 5)], torch.zeros(1, 3)
        out = [
            head(maps, cond, torch.tensor([[dy, dx]]), (20, 20))[0][0, :2]
            for dy, dx in ((0.0, 0.0), (2.0, 4.0))
        ]
    torch.testing.assert_close(out[0], torch.zeros(2))  # 10 px of 20, i.e. 0 in [-1, 1]
    torch.testing.assert_close(out[1] - out[0], torch.tensor([0.2, 0.4]))  # 2 and 4 px of 20, times 2
    with pytest.raises(ValueError, match="vla_rt's"):
        small_config("vla_pi0", grounding="spatial")


def test_heatmap_targets_peak_where_the_point_projects() -> None:
    """agent.spatial_targets: a world point projects to the pixel the camera puts it at (also after
    resizing the image), and the heatmap loss prefers a heatmap peaked on that pixel's cell."""
    from agents.vla.spatial import heatmap_loss, project, resize_projection

    # a camera looking down the world z axis, f = 10 px, principal point (3.5, 3.5): an 8x8 image
    projection = torch.tensor([[10.0, 0.0, 3.5, 0.0], [0.0, 10.0, 3.5, 0.0], [0.0, 0.0, 1.0, 0.0]])
    point = torch.tensor([[0.1, -0.2, 1.0]])  # x right 1 px, y up 2 px of the centre
    torch.testing.assert_close(project(point, projection), torch.tensor([[1.5 + 0.5, 4.5 + 0.5]]))
    twice = resize_projection(projection, (8, 8), (16, 16))  # f = 20 px, principal point (7.5, 7.5)
    torch.testing.assert_close(project(point, twice), project(point, projection) * 2)
    target = torch.tensor([[[6.0, 2.0]]])  # (row, col) in an 8x8 crop; heatmaps of 4x4 cells
    peaked = torch.full((1, 1, 4, 4), -5.0)
    elsewhere = peaked.clone()
    peaked[0, 0, 2, 0] = elsewhere[0, 0, 0, 3] = 5.0  # cell (2, 0) spans rows 4-6, cols 0-2
    assert heatmap_loss(peaked, target, (8, 8), 0.5) < heatmap_loss(elsewhere, target, (8, 8), 0.5)
    outside = torch.tensor([[[20.0, 2.0]]])  # below the crop: no target
    assert float(heatmap_loss(elsewhere, outside, (8, 8), 0.5)) == 0.0
    with pytest.raises(ValueError, match="spatial_projection"):
        small_config("vla_rt", grounding="spatial", spatial_targets=[[7, 8, 9]])


def test_hl_gauss_bin_targets_and_mean_decoding(tabletop_dataset: Path) -> None:
    """agent.bin_sigma: each label is a distribution over the bins that sums to one and is centred on the
    action; agent.bin_decode=mean reads an action between bin centres back, argmax only its bin's centre."""
    agent, _, _ = build("vla_rt", tabletop_dataset, bin_sigma=1.5, bin_decode="mean")
    actions = torch.tensor([[[0.013, -0.5, 0.999, -1.0]]])[..., : agent.action_dim]  # (1, 1, A)
    target = agent.bin_targets(actions)  # (1, 1, A, K)
    assert target.shape == (*actions.shape, agent.config.bins)
    torch.testing.assert_close(target.sum(-1), torch.ones_like(actions))
    centres = agent.from_bins(torch.arange(agent.config.bins)[:, None].expand(-1, agent.action_dim)).T
    interior = (target * centres).sum(-1)[..., :2]  # (1, 1, 2) away from the range's ends
    torch.testing.assert_close(interior, actions[..., :2], atol=1e-4, rtol=0)
    assert int((target[0, 0, 0] > 1e-3).sum()) > 3  # spread over neighbouring bins, not one-hot
    logits = target.clamp(min=1e-12).log()
    torch.testing.assert_close(agent.decode(logits)[..., :2], actions[..., :2], atol=1e-4, rtol=0)
    agent.config.bin_decode = "argmax"
    on_centre = agent.decode(logits)[0, 0, 0]
    assert float(on_centre) == pytest.approx(float(agent.from_bins(agent.to_bins(actions))[0, 0, 0]))
    for bad in ({"bin_sigma": -1.0}, {"bin_sigma": 1.0, "label_smoothing": 0.1}, {"bin_decode": "mode"}):
        with pytest.raises(ValueError, match="bin_"):
            small_config("vla_rt", **bad)


def test_instruction_batches_are_byte_codes(tabletop_dataset: Path) -> None:
    data = SequenceDataset(tabletop_dataset, ["proprio", "instruction"], obs_horizon=2)
    batch = data.sample_batch([0, len(data) - 1])
    assert batch["obs/instruction"].dtype == torch.uint8 and batch["obs/instruction"].shape == (2, 2, 64)
    texts = decode_texts(batch["obs/instruction"][:, -1].numpy())
    assert set(texts) <= set(data.stats["obs/instruction"]["texts"]) and all(texts)
    assert data.low_dim_keys == ["proprio"]  # text is not a vector to normalise
    assert decode_texts(encode_texts(["lift the red cube", ""], 20)) == ["lift the red cube", ""]
    with pytest.raises(ValueError, match="longer than 3"):
        encode_texts(["lift"], 3)


def test_vla_refuses_inputs_it_cannot_read(tabletop_dataset: Path) -> None:
    from workbench.data import load_meta

    meta = load_meta(tabletop_dataset)
    for keys, message in (
        (["rgb/agentview", "proprio"], "0 text keys"),
        (["rgb/agentview", "instruction", "nothere"], "not in the observations"),
    ):
        with pytest.raises(ValueError, match=message):
            agent_class("vla_rt")(
                small_config("vla_rt", obs_keys=keys), meta["obs_spec"], meta["action_spec"]
            )
    with pytest.raises(ValueError, match=r"agent\.text\.name"):
        TextConfig(name="bert-large")
    with pytest.raises(ValueError, match="execute_horizon"):
        small_config("vla_rt", action_horizon=2, execute_horizon=4)


def test_minilm_is_the_pretrained_sentence_encoder(tabletop_dataset: Path, tmp_path: Path) -> None:
    """all-MiniLM-L6-v2 from the installed package: the sentence similarity its model card documents
    (0.755 for this pair), paraphrases closer than other instructions, and its 90 MB of frozen weights
    not copied into the policy file (their sha256 is, and other weights are refused)."""
    from agents.vla.text import MiniLMTextEncoder

    encoder = MiniLMTextEncoder(TextConfig(name="minilm"), 32)
    pairs = ["A man is eating food.", "A man is eating a piece of bread.", "lift the green block",
             "raise the green block", "push the red cube to the blue zone"]  # fmt: skip
    emb = torch.stack([s for _, _, s in encoder.embed(pairs)])
    sims = emb @ emb.T
    assert abs(sims[0, 1].item() - 0.755) < 0.01
    assert sims[2, 3] > sims[2, 4] + 0.2
    agent, _, _ = build("vla_rt", tabletop_dataset, text=TextConfig(name="minilm"))
    path = tmp_path / "policy.pt"
    agent.save(path)
    assert path.stat().st_size < 5e6 and agent.config.text.weights_sha256
    payload = read_policy(path)
    payload["config"]["text"]["weights_sha256"] = "0" * 64
    with pytest.raises(ValueError, match="not the ones this policy was trained with"):
        agent_class("vla_rt")(
            dataclasses.replace(agent.config, text=TextConfig(**payload["config"]["text"])),
            payload["obs_spec"], payload["action_spec"],
        )  # fmt: skip
