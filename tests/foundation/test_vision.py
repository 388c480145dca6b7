"""ResNet-18-GN, spatial softmax and crops: shapes, dtypes, and that keypoints find what they should."""

from __future__ import annotations

import pytest
import torch

from foundation.augment import center_crop, random_crop
from foundation.resnet import ResNet18GN, ResNetImageEncoder
from foundation.spatial_softmax import SpatialSoftmax


def test_resnet18_gn_shapes_and_no_batchnorm() -> None:
    net = ResNet18GN(width=8)
    assert net(torch.randn(2, 3, 84, 84)).shape == (2, 64, 3, 3)
    assert net(torch.randn(1, 3, 76, 60)).shape == (1, 64, 3, 2)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    # The standard width has ResNet-18's 11.2M trunk parameters.
    assert 11.1e6 < sum(p.numel() for p in ResNet18GN().parameters()) < 11.3e6


MAPS = {4: (16, 3, 3), 3: (8, 5, 5), 2: (4, 10, 10), 1: (2, 19, 19)}  # stages -> (C, H, W) at 76x76, width 2


@pytest.mark.parametrize(("stages", "shape"), MAPS.items())
def test_fewer_stages_give_a_finer_map(stages: int, shape: tuple[int, int, int]) -> None:
    net = ResNet18GN(width=2, stages=stages)
    assert net(torch.randn(1, 3, 76, 76)).shape == (1, *shape) and net.out_channels == shape[0]
    with pytest.raises(ValueError, match="stages=5"):
        ResNet18GN(stages=5)


def test_image_encoder_takes_uint8_channel_last_with_leading_dims() -> None:
    enc = ResNetImageEncoder(feature_dim=16, num_keypoints=4, width=8)
    images = torch.randint(0, 256, (2, 3, 40, 48, 3), dtype=torch.uint8)  # (B, To, H, W, C)
    out = enc(images)
    assert out.shape == (2, 3, 16) and torch.isfinite(out).all()
    # float input in [0, 1] is the same picture as uint8 in [0, 255]
    torch.testing.assert_close(enc(images.float() / 255.0), out)
    with pytest.raises(ValueError, match="channel-last"):
        enc(torch.zeros(2, 3, 40, 48))


def test_spatial_softmax_finds_a_peak() -> None:
    ss = SpatialSoftmax(in_channels=1, num_keypoints=None, temperature=0.01, learnable_temperature=False)
    fmap = torch.zeros(1, 1, 5, 9)
    fmap[0, 0, 4, 0] = 10.0  # bottom-left pixel
    kp = ss(fmap)
    assert kp.shape == (1, 1, 2) and ss.out_dim == 2
    torch.testing.assert_close(kp[0, 0], torch.tensor([-1.0, 1.0]), atol=1e-3, rtol=0)
    uniform = ss(torch.zeros(2, 1, 4, 4))
    torch.testing.assert_close(uniform, torch.zeros(2, 1, 2), atol=1e-6, rtol=0)


def test_spatial_softmax_projection_shape_and_gradcheck() -> None:
    ss = SpatialSoftmax(in_channels=3, num_keypoints=2).double()
    x = torch.randn(2, 3, 4, 5, dtype=torch.double, requires_grad=True)
    assert ss(x).shape == (2, 2, 2)
    assert torch.autograd.gradcheck(ss, (x,))


def test_crops() -> None:
    images = torch.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6, 1)  # (B, To, H, W, C)
    centre = center_crop(images, 4, 4)
    assert torch.equal(centre, images[:, :, 1:5, 1:5])
    gen = torch.Generator().manual_seed(0)
    crops = random_crop(images, 4, 4, generator=gen)
    assert crops.shape == (2, 3, 4, 4, 1)
    for b in range(2):  # every frame of a sample shares one window: differences are the frame offset
        torch.testing.assert_close(crops[b, 1] - crops[b, 0], torch.full_like(crops[b, 0], 36))
        windows = [images[b, 0, i : i + 4, j : j + 4] for i in range(3) for j in range(3)]
        found = [w for w in windows if torch.equal(w, crops[b, 0])]
        assert len(found) == 1
    with pytest.raises(ValueError, match="does not fit"):
        center_crop(images, 7, 4)
