"""1-D temporal U-Net and its FiLM blocks: shapes for any horizon, conditioning, gradients."""

from __future__ import annotations

import pytest
import torch

from foundation.embeddings import SinusoidalPosEmb
from foundation.unet1d import ConditionalUnet1D, FiLMResidualBlock1D


def test_film_block_shapes_and_conditioning() -> None:
    torch.manual_seed(0)
    block = FiLMResidualBlock1D(3, 8, cond_dim=5, kernel_size=5, n_groups=4)
    x, cond = torch.randn(2, 3, 7), torch.randn(2, 5)
    y = block(x, cond)
    assert y.shape == (2, 8, 7)
    assert not torch.allclose(y, block(x, cond + 1.0)), "the condition must change the output"
    # FiLM is an affine map of the hidden features: with scale 1 and bias 0 it is a plain residual block.
    linear = block.cond_encoder[1]
    assert isinstance(linear, torch.nn.Linear)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.cat([torch.ones(8), torch.zeros(8)]))
    torch.testing.assert_close(block(x, cond), block(x, cond + 5.0))
    plain = block.block2(block.block1(x)) + block.shortcut(x)
    torch.testing.assert_close(block(x, cond), plain)


@pytest.mark.parametrize("horizon", [1, 5, 7, 16, 17])
def test_unet_shapes_for_any_horizon(horizon: int) -> None:
    net = ConditionalUnet1D(input_dim=3, global_cond_dim=6, down_dims=(8, 16, 32), kernel_size=5, n_groups=4,
                            step_embed_dim=8)
    x = torch.randn(2, horizon, 3)
    assert net(x, torch.tensor([0, 99]), torch.randn(2, 6)).shape == (2, horizon, 3)
    assert net(x, 3, torch.randn(2, 6)).shape == (2, horizon, 3)  # a scalar step broadcasts


def test_unet_uses_step_and_observation() -> None:
    torch.manual_seed(0)
    net = ConditionalUnet1D(2, 4, down_dims=(8, 16), n_groups=4, step_embed_dim=8)
    x, cond, k = torch.randn(3, 8, 2), torch.randn(3, 4), torch.tensor([1, 2, 3])
    y = net(x, k, cond)
    assert not torch.allclose(y, net(x, k + 40, cond))
    assert not torch.allclose(y, net(x, k, cond * 2))
    with pytest.raises(ValueError, match="odd"):
        ConditionalUnet1D(2, 4, kernel_size=4)


def test_unet_gradcheck_tiny() -> None:
    torch.manual_seed(0)
    net = ConditionalUnet1D(2, 3, down_dims=(4, 4), kernel_size=3, n_groups=2, step_embed_dim=4).double()
    x = torch.randn(1, 5, 2, dtype=torch.double, requires_grad=True)
    cond = torch.randn(1, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, c: net(a, torch.tensor([7]), c), (x, cond))


def test_sinusoidal_embedding() -> None:
    emb = SinusoidalPosEmb(8)
    out = emb(torch.tensor([0, 1, 50]))
    assert out.shape == (3, 8)
    torch.testing.assert_close(out[0], torch.cat([torch.zeros(4), torch.ones(4)]))
    assert torch.allclose(out.pow(2).reshape(3, 2, 4).sum(1), torch.ones(3, 4))  # sin^2 + cos^2 = 1
