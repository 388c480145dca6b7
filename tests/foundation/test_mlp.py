from __future__ import annotations

import pytest
import torch

from foundation.mlp import MLP


def test_shapes_and_gradients() -> None:
    net = MLP(5, 3, [8, 8], "gelu", dropout=0.1)
    x = torch.randn(4, 7, 5, requires_grad=True)
    y = net(x)
    assert y.shape == (4, 7, 3)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_gradcheck() -> None:
    net = MLP(3, 2, [4], "tanh", layer_norm=False).double()
    x = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(net, (x,))


def test_unknown_activation() -> None:
    with pytest.raises(ValueError, match="activation"):
        MLP(2, 2, [4], "swishy")
