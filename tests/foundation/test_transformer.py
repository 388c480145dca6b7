"""Transformer blocks: shapes, causality (no peeking at the future), cross-attention, gradients."""

from __future__ import annotations

import pytest
import torch

from foundation.transformer import CausalTransformer, TransformerBlock, TransformerDenoiser


def test_causal_transformer_does_not_see_the_future() -> None:
    torch.manual_seed(0)
    net = CausalTransformer(in_dim=5, out_dim=3, max_len=8, d_model=16, n_layers=2, n_heads=2, dropout=0.0)
    x = torch.randn(2, 6, 5)
    y = net(x)
    assert y.shape == (2, 6, 3)
    x2 = x.clone()
    x2[:, 4:] += 1.0  # change the future
    y2 = net(x2)
    torch.testing.assert_close(y[:, :4], y2[:, :4])
    assert not torch.allclose(y[:, 4:], y2[:, 4:])
    with pytest.raises(ValueError, match="max_len"):
        net(torch.randn(1, 9, 5))


def test_block_cross_attention_uses_memory() -> None:
    torch.manual_seed(0)
    block = TransformerBlock(8, 2, causal=False, cross_attention=True)
    x, mem = torch.randn(2, 4, 8), torch.randn(2, 3, 8)
    y = block(x, mem)
    assert y.shape == (2, 4, 8)
    assert not torch.allclose(y, block(x, mem + 1.0))
    with pytest.raises(ValueError, match="memory"):
        block(x)


def test_denoiser_shapes_conditioning_and_gradcheck() -> None:
    torch.manual_seed(0)
    net = TransformerDenoiser(action_dim=2, horizon=6, cond_dim=3, n_cond_steps=2, d_model=8, n_layers=1,
                              n_heads=2, dropout=0.0).double()
    a = torch.randn(2, 5, 2, dtype=torch.double, requires_grad=True)
    cond = torch.randn(2, 2, 3, dtype=torch.double)
    k = torch.tensor([3, 7])
    out = net(a, k, cond)
    assert out.shape == (2, 5, 2)
    assert not torch.allclose(out, net(a, k, cond + 1.0))
    assert not torch.allclose(out, net(a, k + 10, cond))
    assert torch.autograd.gradcheck(lambda x: net(x, k, cond), (a,))
