import json

import torch
from torch import nn

from squeezenet.compression.cluster import nearest_assignment
from squeezenet.compression.compensate import _input_groups, compensated_assignment, compensated_labels, input_hessians
from squeezenet.compression.layers import forward_blocks, named_convs
from squeezenet.models import SqueezeNet, SqueezeNetConfig


def _correlated_inputs(n: int = 64) -> torch.Tensor:
    """Channels that share a common signal, as real activations do: rounding errors can cancel."""
    base = torch.randn(n, 1, 12, 12)
    return base + 0.3 * torch.randn(n, 8, 12, 12)


def _output_error(conv: nn.Conv2d, weight: torch.Tensor, x: torch.Tensor) -> float:
    return float((nn.functional.conv2d(x, weight, conv.bias, padding=1) - conv(x)).pow(2).mean())


@torch.no_grad()
def test_compensation_beats_nearest_rounding_on_layer_output():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1)
    x = _correlated_inputs()
    hessian = input_hessians(nn.Sequential(conv), {"c": conv}, x)["c"]
    assert hessian.shape == (72, 72)
    for keep in (1.0, 0.5):
        threshold = conv.weight.abs().flatten().kthvalue(int((1 - keep) * conv.weight.numel()) or 1).values
        mask = conv.weight.abs() >= threshold if keep < 1 else torch.ones_like(conv.weight, dtype=torch.bool)
        codebook, nearest = nearest_assignment(conv.weight, 3, mask)
        compensated = compensated_labels(conv.weight, hessian, codebook, mask)
        assert compensated.min() >= 0 and compensated.max() < len(codebook)
        plain = _output_error(conv, codebook[nearest] * mask, x)
        better = _output_error(conv, codebook[compensated] * mask, x)
        assert better < 0.7 * plain, (keep, better, plain)


def test_fire_expands_share_one_input_group():
    names = ["conv1", "fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3", "fire2/shortcut", "conv10"]
    assert _input_groups(names) == [
        ["conv1"],
        ["fire2/squeeze1x1"],
        ["fire2/expand1x1", "fire2/expand3x3"],
        ["fire2/shortcut"],
        ["conv10"],
    ]


@torch.no_grad()
def test_compensated_assignment_shares_every_layer():
    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)).eval()
    convs = named_convs(model)
    masks = {n: torch.ones_like(c.weight, dtype=torch.bool) for n, c in convs.items()}
    masks["conv10"] = convs["conv10"].weight.abs() > convs["conv10"].weight.abs().median()
    images = torch.randn(16, 1, 28, 28)
    reference = model(images)
    assignment = compensated_assignment(
        forward_blocks(model), convs, masks, dict.fromkeys(convs, 4), images, progress=False
    )
    assert set(assignment) == set(convs)
    for name, (codebook, index) in assignment.items():
        assert len(codebook) <= 16
        assert torch.equal(convs[name].weight, codebook[index] * masks[name])  # the model now runs shared weights
    assert int((convs["conv10"].weight != 0).sum()) <= int(masks["conv10"].sum())
    assert not torch.equal(model(images), reference)
    x = images
    for block in forward_blocks(model):
        x = block(x)
    assert torch.equal(torch.flatten(x, 1), model(images))  # the blocks are the whole forward


def test_imagenet_v11_6_bit_under_0_7_mb_within_a_point(capsys, shared, imagenet_weights, tmp_path):
    """Post-training 6 bits: under 0.7 MB within a top-1 point on held-out images, from calibration images only."""
    from squeezenet.cli import main

    sample = shared / "imagenet-sample"
    data = ["--data", sample / "val", "--classes", sample / "synset_words.txt", "--json"]

    def top1(weights) -> float:
        assert main([str(a) for a in ["eval", "--weights", weights, *data]]) == 0
        return json.loads(capsys.readouterr().out)["top1"]

    out = tmp_path / "m.sqz"
    argv = [
        "compress",
        "--weights",
        imagenet_weights,
        "--calib-data",
        sample / "calib",
        "--bits",
        "6",
        "--out",
        out,
        "--quiet",
        "--json",
    ]
    assert main([str(a) for a in argv]) == 0
    assert json.loads(capsys.readouterr().out)["rate_weight"] == 1.0  # entropy-constrained k-means is the default
    assert out.stat().st_size <= 700_000
    assert top1(out) >= top1(imagenet_weights) - 1.0
