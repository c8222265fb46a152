"""ResNet structure: shortcuts on and off, downsampling, and 1-D/2-D variants."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from occamlab.models import BasicBlock, ResNetSpec, build_model, count_parameters


def resnet(shape: tuple[int, ...] = (3, 16, 16), seed: int = 0, **options) -> nn.Module:
    return build_model(ResNetSpec(**options), input_shape=shape, num_outputs=5, seed=seed).eval()


def blocks(net: nn.Module) -> list[BasicBlock]:
    return [m for m in net.modules() if isinstance(m, BasicBlock)]


def zero_branch_convs(block: BasicBlock) -> None:
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            if conv.bias is not None:
                conv.bias.zero_()


def test_shortcut_layout_with_skips() -> None:
    net = resnet(stages=3, blocks=2)
    kinds = [type(b.shortcut).__name__ for b in blocks(net)]
    # First stage keeps the width; later stages open with a strided projection.
    assert kinds == ["Identity", "Identity", "Sequential", "Identity", "Sequential", "Identity"]
    projection = blocks(net)[2].shortcut
    assert isinstance(projection[0], nn.Conv2d) and projection[0].stride == (2, 2)
    assert isinstance(projection[1], nn.BatchNorm2d)


def test_skip_false_removes_every_shortcut() -> None:
    with_skip, without = resnet(skip=True), resnet(skip=False)
    assert all(b.shortcut is None for b in blocks(without))
    assert not any("shortcut" in name for name, _ in without.named_modules())
    assert not any("shortcut" in name for name in without.state_dict())
    assert count_parameters(without) < count_parameters(with_skip)
    # Same branch weights, shortcuts removed: the function changes.
    shared = {k: v for k, v in with_skip.state_dict().items() if "shortcut" not in k}
    without.load_state_dict(shared)
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(with_skip(x), without(x))


def test_zeroed_branch_makes_an_identity_block_relu() -> None:
    net = resnet(skip=True)
    block = blocks(net)[0]
    assert isinstance(block.shortcut, nn.Identity)
    zero_branch_convs(block)
    x = torch.randn(2, 16, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(x), rtol=0, atol=0)
        assert torch.equal(block.residual(x), torch.zeros_like(x))


def test_zeroed_branch_without_skip_kills_the_signal() -> None:
    block = blocks(resnet(skip=False))[0]
    zero_branch_convs(block)
    with torch.no_grad():
        assert torch.equal(block(torch.randn(2, 16, 16, 16)), torch.zeros(2, 16, 16, 16))


@pytest.mark.parametrize("batchnorm", [True, False])
def test_zeroed_branches_reduce_the_whole_body_to_shortcuts(batchnorm: bool) -> None:
    """With every residual branch zeroed, features(x) only depends on the stem and the
    projection shortcuts; with stages=1 there are none, so features = pool(stem(x))."""
    net = resnet(stages=1, blocks=3, batchnorm=batchnorm)
    for block in blocks(net):
        zero_branch_convs(block)
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        stem = net.features.stem(x)
        torch.testing.assert_close(net.features(x), stem.mean(dim=(2, 3)))


def test_spatial_downsampling_and_widths() -> None:
    net = resnet((3, 32, 32), width=8, stages=3)
    x = torch.randn(2, 3, 32, 32)
    shapes = []
    with torch.no_grad():
        h = net.features.stem(net.features.prepare(x))
        for name in ("stage1", "stage2", "stage3"):
            h = getattr(net.features, name)(h)
            shapes.append(tuple(h.shape[1:]))
    assert shapes == [(8, 32, 32), (16, 16, 16), (32, 8, 8)]
    assert net.head.in_features == 32


@pytest.mark.parametrize(
    ("shape", "dims", "conv"),
    [
        ((40,), "auto", nn.Conv1d),
        ((2, 40), "1d", nn.Conv1d),
        ((40,), "1d", nn.Conv1d),
        ((28, 28), "auto", nn.Conv2d),
        ((28, 28), "2d", nn.Conv2d),
        ((3, 32, 32), "auto", nn.Conv2d),
    ],
)
def test_dims(shape: tuple[int, ...], dims: str, conv: type[nn.Module]) -> None:
    net = resnet(shape, dims=dims)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv1d | nn.Conv2d)]
    assert convs and all(type(m) is conv for m in convs)
    assert net(torch.randn(2, *shape)).shape == (2, 5)


def test_no_batchnorm_means_conv_biases() -> None:
    net = resnet(batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is not None for m in convs)
    assert all(m.bias is None for m in resnet().modules() if isinstance(m, nn.Conv2d))


def test_train_mode_batchnorm_runs_and_updates_stats() -> None:
    net = resnet().train()
    net(torch.randn(4, 3, 16, 16)).sum().backward()
    bn = net.features.stem[1]
    assert bn.num_batches_tracked.item() == 1
    assert all(p.grad is not None for p in net.parameters())
