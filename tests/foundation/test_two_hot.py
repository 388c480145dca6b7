import pytest
import torch

from foundation.two_hot import TwoHot, symexp, symlog


def test_symlog_inverts_symexp() -> None:
    x = torch.tensor([-1000.0, -3.0, -0.1, 0.0, 0.05, 2.0, 500.0])
    torch.testing.assert_close(symexp(symlog(x)), x, rtol=1e-5, atol=1e-6)


def test_two_hot_is_a_distribution_whose_mean_is_the_target() -> None:
    two_hot = TwoHot(101, -10.0, 10.0)
    x = torch.tensor([-0.3, -0.05, 0.0, 0.7, 12.0, -150.0])
    dist = two_hot.encode(x)  # (6, 101)
    torch.testing.assert_close(dist.sum(-1), torch.ones(6))
    assert int((dist > 0).sum(-1).max()) <= 2  # two neighbouring bins at most
    torch.testing.assert_close(symexp((dist * two_hot.bins).sum(-1)), x, rtol=1e-4, atol=1e-5)
    # Decoding the log of the two-hot recovers the target (mass outside the two bins is ~0).
    torch.testing.assert_close(two_hot.decode(dist.clamp_min(1e-12).log()), x, rtol=1e-3, atol=1e-4)


def test_cross_entropy_fits_small_targets_as_well_as_large_ones() -> None:
    # Why two-hot: a head fits rewards of size 0.1 and 100 to the same relative error.
    torch.manual_seed(0)
    for scale in (0.1, 100.0):
        targets = scale * torch.linspace(-1, 1, 16)
        logits = torch.zeros(16, 101, requires_grad=True)
        two_hot = TwoHot()
        optimizer = torch.optim.Adam([logits], lr=0.1)
        for _ in range(300):
            optimizer.zero_grad()
            two_hot.loss(logits, targets).mean().backward()
            optimizer.step()
        error = (two_hot.decode(logits.detach()) - targets).abs().max() / scale
        assert error < 0.05, (scale, float(error))


def test_one_bin_is_plain_regression() -> None:
    two_hot = TwoHot(1)
    assert two_hot.decode(torch.tensor([[0.25]])).item() == 0.25
    assert two_hot.loss(torch.tensor([[0.5]]), torch.tensor([0.25])).item() == pytest.approx(0.0625)
    with pytest.raises(ValueError, match="num_bins"):
        TwoHot(0)
