"""SequenceDataset windows and padding, the batched fast path, which labels it trains on (DART), and
the Normalizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from foundation.normalizer import Normalizer, NormalizerMode, normalizers_from_stats
from workbench.data import DatasetWriter, Episode
from workbench.dataset import SequenceDataset

OBS_SPEC = {"state": {"shape": [2], "dtype": "float32"}, "rgb/front": {"shape": [4, 4, 3], "dtype": "uint8"}}
ACTION_SPEC = {"shape": [1], "dtype": "float32", "low": [-1.0], "high": [1.0]}
LENGTHS = (4, 3)


def make_dataset(root: Path, expert: bool | tuple[bool, ...] = False) -> Path:
    # Values encode (episode, step) so expected windows can be written down by hand:
    # state[e][i] = [100 e + i, -i], action[e][i] = 100 e + i, rgb[e][i] = 10 e + i,
    # expert_action[e][i] = -(100 e + i) where recorded (``expert``: for all episodes, or per episode).
    with DatasetWriter(root, "wb/Test-v0", {}, OBS_SPEC, ACTION_SPEC, fps=10) as w:
        for e, t in enumerate(LENGTHS):
            has_expert = expert[e] if isinstance(expert, tuple) else expert
            i = np.arange(t + 1)
            w.add(
                Episode(
                    obs={
                        "state": np.stack([100 * e + i, -i], 1).astype(np.float32),  # (T+1, 2)
                        "rgb/front": np.broadcast_to(
                            (10 * e + i)[:, None, None, None], (t + 1, 4, 4, 3)
                        ).astype(np.uint8),  # (T+1, 4, 4, 3)
                    },
                    actions=(100 * e + i[:t, None]).astype(np.float32),  # (T, 1)
                    rewards=np.zeros(t),
                    expert_actions=(-(100 * e + i[:t, None])).astype(np.float32) if has_expert else None,
                )
            )
    return root


def test_windows_and_padding_at_both_edges(tmp_path: Path) -> None:
    ds = SequenceDataset(
        make_dataset(tmp_path / "ds"), ["state", "rgb/front"], obs_horizon=2, action_horizon=3
    )
    assert len(ds) == sum(LENGTHS)
    np.testing.assert_array_equal(ds.episode_ranges, [[0, 4], [4, 7]])
    expected = [  # (episode, obs steps, action steps, pad)
        (0, [0, 0], [0, 1, 2], [False, False, False]),  # obs padded at the start
        (0, [0, 1], [1, 2, 3], [False, False, False]),
        (0, [1, 2], [2, 3, 3], [False, False, True]),
        (0, [2, 3], [3, 3, 3], [False, True, True]),  # actions padded at the end
        (1, [0, 0], [0, 1, 2], [False, False, False]),  # episode boundary: no leakage from episode 0
        (1, [0, 1], [1, 2, 2], [False, False, True]),
        (1, [1, 2], [2, 2, 2], [False, True, True]),
    ]
    past = [[0], [0], [1], [2], [100], [100], [101]]  # the action at the first history frame
    past_pad = [True, False, False, False, True, False, False]
    for idx, (e, obs_steps, act_steps, pad) in enumerate(expected):
        item = ds[idx]
        assert item["past_action"].shape == (1, 1)
        assert item["past_action"][:, 0].tolist() == past[idx]
        assert item["past_action_is_pad"].tolist() == [past_pad[idx]]
        assert item["obs/state"].shape == (2, 2) and item["obs/rgb/front"].shape == (2, 4, 4, 3)
        assert item["obs/rgb/front"].dtype == torch.uint8
        assert item["obs/state"][:, 0].tolist() == [100 * e + s for s in obs_steps]
        assert item["obs/rgb/front"][:, 0, 0, 0].tolist() == [10 * e + s for s in obs_steps]
        assert item["action"].shape == (3, 1)
        assert item["action"][:, 0].tolist() == [100 * e + s for s in act_steps]
        assert item["action_is_pad"].tolist() == pad
    assert ds[-1]["action"][0, 0].item() == 102
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_sample_batch_equals_stacked_items(tmp_path: Path) -> None:
    ds = SequenceDataset(
        make_dataset(tmp_path / "ds"), ["state", "rgb/front"], obs_horizon=3, action_horizon=4
    )
    idx = np.random.default_rng(0).integers(0, len(ds), size=16)
    batch = ds.sample_batch(idx)
    items = [ds[int(i)] for i in idx]
    assert set(batch) == {
        "obs/state", "obs/rgb/front", "action", "action_is_pad", "past_action", "past_action_is_pad"
    }
    for k, v in batch.items():
        assert torch.equal(v, torch.stack([it[k] for it in items])), k
    assert batch["action"].shape == (16, 4, 1) and batch["obs/state"].dtype == torch.float32
    assert batch["past_action"].shape == (16, 2, 1) and batch["past_action_is_pad"].shape == (16, 2)


def test_past_and_current_actions_cover_every_step_the_sample_sees(tmp_path: Path) -> None:
    # cat(past_action, action) is the action at steps t-To+1 .. t+Ta-1: what per-position targets
    # (BC-Transformer) and Diffusion Policy's window (from the first observation frame) are cut from.
    ds = SequenceDataset(make_dataset(tmp_path / "ds"), ["state"], obs_horizon=3, action_horizon=2)
    batch = ds.sample_batch(np.arange(len(ds)))
    steps = torch.cat([batch["past_action"], batch["action"]], dim=1)[..., 0]  # (N, To-1+Ta)
    pad = torch.cat([batch["past_action_is_pad"], batch["action_is_pad"]], dim=1)  # (N, To-1+Ta)
    assert steps[2].tolist() == [0, 1, 2, 3] and not pad[2].any()  # episode 0, t = 2
    assert steps[0].tolist() == [0, 0, 0, 1] and pad[0].tolist() == [True, True, False, False]
    assert steps[6].tolist() == [100, 101, 102, 102] and pad[6].tolist() == [False, False, False, True]
    one = SequenceDataset(make_dataset(tmp_path / "ds1"), ["state"], obs_horizon=1)
    assert one.sample_batch([0])["past_action"].shape == (1, 0, 1)  # no history, no past actions


def test_dart_noise_trains_on_the_clean_expert_labels_by_default(tmp_path: Path) -> None:
    # Demos collected with demos.noise > 0 execute noisy actions (here: +100 e + i) and record the
    # clean expert's label beside them (here: -(100 e + i)). Every imitation agent's default label
    # ("auto", passed on by `workbench train` as action_key) trains on the clean labels.
    from agents.imitation.bc_config import BCConfig
    from agents.imitation.diffusion_config import DiffusionConfig

    root = make_dataset(tmp_path / "dart", expert=True)
    assert BCConfig().label == DiffusionConfig().label == "auto"
    ds = SequenceDataset(root, ["state"], action_horizon=2, action_key=BCConfig().label)
    assert ds.action_key == "expert_actions"
    np.testing.assert_array_equal(ds.actions[:, 0], -np.array([0, 1, 2, 3, 100, 101, 102]))
    assert ds[1]["action"][:, 0].tolist() == [-1, -2]
    np.testing.assert_allclose(ds.stats["action"]["min"], [-102])  # the normaliser sees the labels too
    assert SequenceDataset(root, ["state"]).action_key == "expert_actions"  # the dataset's default
    executed = SequenceDataset(root, ["state"], action_key="actions")  # opting out of the clean labels
    np.testing.assert_array_equal(executed.actions[:4, 0], [0, 1, 2, 3])

    # Without recorded labels (e.g. teleoperated demos) "auto" is the executed actions; a mix takes
    # each episode's clean labels where it has them.
    plain = SequenceDataset(make_dataset(tmp_path / "plain"), ["state"])
    assert plain.action_key == "actions" and plain.actions[0, 0] == 0
    mixed = SequenceDataset(make_dataset(tmp_path / "mixed", expert=(False, True)), ["state"])
    np.testing.assert_array_equal(mixed.actions[:, 0], [0, 1, 2, 3, -100, -101, -102])
    np.testing.assert_allclose(mixed.stats["action"]["min"], [-102])
    np.testing.assert_allclose(mixed.stats["action"]["max"], [3])


def test_episode_subset_expert_actions_and_stats(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", expert=True)
    ds = SequenceDataset(root, ["state"], action_key="expert_actions", episodes=[1])
    assert len(ds) == 3 and ds[0]["action"][0, 0].item() == -100
    # Subset -> stats from the loaded arrays (episode 1 only); all episodes -> stats from meta.
    np.testing.assert_allclose(ds.stats["obs/state"]["mean"], [101.5, -1.5])
    np.testing.assert_allclose(ds.stats["action"]["max"], [-100])
    full = SequenceDataset(root, ["state", "rgb/front"])
    assert set(full.stats) == {"obs/state", "action"}
    all_actions = np.array([0, 1, 2, 3, 100, 101, 102], np.float64)
    np.testing.assert_allclose(full.stats["action"]["std"], [all_actions.std()])

    no_expert = make_dataset(tmp_path / "ds2")
    with pytest.raises(ValueError, match="expert"):
        SequenceDataset(no_expert, ["state"], action_key="expert_actions")
    with pytest.raises(ValueError, match="action_key"):
        SequenceDataset(no_expert, ["state"], action_key="clean")


def test_normalizer_round_trip_and_minmax_range() -> None:
    x = torch.randn(50, 3) * torch.tensor([1.0, 10.0, 0.0]) + torch.tensor([0.0, 5.0, 2.0])  # dim 2 constant
    x64 = x.double()
    stats = {
        "mean": x64.mean(0).tolist(),
        "std": x64.std(0, unbiased=False).tolist(),
        "min": x64.min(0).values.tolist(),
        "max": x64.max(0).values.tolist(),
    }
    modes: tuple[NormalizerMode, ...] = ("gaussian", "minmax")
    for mode in modes:
        norm = Normalizer.from_stats(stats, mode)
        xn = norm.normalize(x)
        assert torch.isfinite(xn).all()
        torch.testing.assert_close(norm.unnormalize(xn), x, atol=1e-4, rtol=1e-5)
        assert torch.allclose(xn[:, 2], torch.zeros(50), atol=1e-6)  # constant dim: centred, not exploded
    mm = Normalizer.from_stats(stats, "minmax")
    xn = mm.normalize(x)[:, :2]
    assert xn.min() >= -1 - 1e-5 and xn.max() <= 1 + 1e-5
    torch.testing.assert_close(xn.min(0).values, torch.tensor([-1.0, -1.0]))
    torch.testing.assert_close(xn.max(0).values, torch.tensor([1.0, 1.0]))
    # Batched leading dims broadcast against the stats shape.
    assert mm.normalize(torch.zeros(4, 7, 3)).shape == (4, 7, 3)


def test_normalizer_state_dict_round_trip() -> None:
    src = normalizers_from_stats(
        {"action": {"mean": [1.0, 2.0], "std": [3.0, 0.0], "min": [0.0, 0.0], "max": [1.0, 1.0]}},
        ["action"],
        mode="minmax",
    )
    state = src.state_dict()
    assert {"action.loc", "action.scale"} <= set(state)
    dst = Normalizer.identity([2])
    dst.load_state_dict({k[len("action.") :]: v for k, v in state.items()})
    assert dst.mode == "minmax"
    x = torch.tensor([[0.25, 0.75]])
    src_action = src["action"]
    assert isinstance(src_action, Normalizer)
    torch.testing.assert_close(dst.normalize(x), src_action.normalize(x))
