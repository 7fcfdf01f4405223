import copy
import json

import torch
from torch import nn

from squeezenet.compression.compensate import (
    assign_layer,
    compensated_assignment,
    input_groups,
    input_statistics,
    nearest_layer,
)
from squeezenet.compression.layers import forward_blocks, named_convs
from squeezenet.models import SqueezeNet, SqueezeNetConfig


def _correlated_inputs(n: int = 64) -> torch.Tensor:
    """Channels that share a common signal, as real activations do: rounding errors can cancel."""
    base = torch.randn(n, 1, 12, 12)
    return base + 0.3 * torch.randn(n, 8, 12, 12)


def _output_error(conv: nn.Conv2d, weight: torch.Tensor, x: torch.Tensor, wanted: torch.Tensor) -> float:
    return float((nn.functional.conv2d(x, weight, conv.bias, padding=1) - wanted).pow(2).mean())


def _statistics(conv: nn.Conv2d, x_reference: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    reference = copy.deepcopy(conv)
    stats = input_statistics(
        nn.Sequential(reference), {"c": reference}, nn.Sequential(conv), {"c": conv}, x_reference, x
    )
    return stats["c"]


@torch.no_grad()
def test_compensation_beats_nearest_rounding_on_layer_output():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1)
    x = _correlated_inputs()
    hessian, cross = _statistics(conv, x, x)
    assert hessian.shape == cross.shape == (72, 72)
    assert torch.allclose(hessian, cross)  # the same inputs on both sides
    for keep in (1.0, 0.5):
        threshold = conv.weight.abs().flatten().kthvalue(int((1 - keep) * conv.weight.numel()) or 1).values
        mask = conv.weight.abs() >= threshold if keep < 1 else torch.ones_like(conv.weight, dtype=torch.bool)
        for scales in (True, False):
            nearest = nearest_layer(conv.weight, mask, 3, channel_scales=scales)
            shared = assign_layer(conv.weight, mask, 3, hessian, cross, channel_scales=scales)
            assert shared.method == "compensated"
            assert shared.index.min() >= 0 and shared.index.max() < len(shared.codebook)
            assert torch.equal(shared.codebook, nearest.codebook)  # one codebook, two ways to index it
            plain = _output_error(conv, nearest.weight(mask), x, conv(x))
            better = _output_error(conv, shared.weight(mask), x, conv(x))
            assert better < 0.7 * plain, (keep, scales, better, plain)


@torch.no_grad()
def test_channel_scales_fit_filters_of_different_ranges_better_at_equal_bits():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1)
    conv.weight.mul_(torch.logspace(-2, 0, 16).view(-1, 1, 1, 1))  # filters whose ranges span 100x
    mask = torch.ones_like(conv.weight, dtype=torch.bool)
    errors = {}
    for scales in (True, False):
        shared = nearest_layer(conv.weight, mask, 3, channel_scales=scales)
        assert (shared.scale is not None) == scales
        per_filter = (shared.weight(mask) - conv.weight).pow(2).flatten(1).sum(1) / conv.weight.pow(2).flatten(1).sum(1)
        errors[scales] = float(per_filter.mean())  # each filter's relative error, small ones counted too
    assert errors[True] < 0.5 * errors[False], errors


@torch.no_grad()
def test_at_8_bits_the_choice_is_never_worse_than_rounding():
    """Compensation is kept only where it lowers the output error: the chosen error is at most
    rounding's, layer by layer, whichever of the two wins."""
    torch.manual_seed(1)
    for bits in (8, 2):
        conv = nn.Conv2d(8, 16, 3, padding=1)
        x, mask = _correlated_inputs(), torch.ones_like(conv.weight, dtype=torch.bool)
        hessian, cross = _statistics(conv, x, x)
        shared = assign_layer(conv.weight, mask, bits, hessian, cross)
        rounded = nearest_layer(conv.weight, mask, bits)
        assert _output_error(conv, shared.weight(mask), x, conv(x)) <= _output_error(
            conv, rounded.weight(mask), x, conv(x)
        ) * (1 + 1e-6)


@torch.no_grad()
def test_a_layer_repairs_the_error_of_the_inputs_it_is_given():
    """Targeting the uncompressed layer's output on the uncompressed inputs: when the inputs
    have drifted (earlier layers shared), the shared layer lands nearer the wanted output than
    the uncompressed weights themselves would on the drifted inputs."""
    torch.manual_seed(2)
    conv = nn.Conv2d(8, 16, 3, padding=1)
    x = _correlated_inputs(128)
    drifted = x * (1 + 0.2 * torch.randn(1, 8, 1, 1)) + 0.05 * torch.randn_like(x)
    hessian, cross = _statistics(conv, x, drifted)
    mask = torch.ones_like(conv.weight, dtype=torch.bool)
    shared = assign_layer(conv.weight, mask, 8, hessian, cross)
    wanted = conv(x)
    assert _output_error(conv, shared.weight(mask), drifted, wanted) < 0.5 * _output_error(
        conv, conv.weight, drifted, wanted
    )


def test_fire_expands_share_one_input_group():
    names = ["conv1", "fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3", "fire2/shortcut", "conv10"]
    assert input_groups(names) == [
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
    reference = copy.deepcopy(model)
    convs = named_convs(model)
    masks = {n: torch.ones_like(c.weight, dtype=torch.bool) for n, c in convs.items()}
    masks["conv10"] = convs["conv10"].weight.abs() > convs["conv10"].weight.abs().median()
    images = torch.randn(16, 1, 28, 28)
    wanted = model(images)
    assignment = compensated_assignment(
        reference,
        model,
        masks,
        dict.fromkeys(convs, 4),
        {name: name != "conv10" for name in convs},
        images,
        progress=False,
    )
    assert set(assignment) == set(convs)
    for name, shared in assignment.items():
        assert len(shared.codebook) <= 16
        assert shared.scale is None if name == "conv10" else shared.scale.shape == (convs[name].out_channels,)
        assert torch.equal(convs[name].weight, shared.weight(masks[name]))  # the model now runs shared weights
    assert int((convs["conv10"].weight != 0).sum()) <= int(masks["conv10"].sum())
    assert not torch.equal(model(images), wanted)
    assert torch.equal(reference(images), wanted)  # the reference stays uncompressed
    x = images
    for block in forward_blocks(model):
        x = block(x)
    assert torch.equal(torch.flatten(x, 1), model(images))  # the blocks are the whole forward


def test_imagenet_v11_6_bit_under_0_7_mb_agrees_with_fp32(
    capsys, shared, imagenet_weights, imagenet_reference, tmp_path
):
    """Post-training 6 bits from 64 calibration images only: under 0.7 MB, and the decoded file
    agrees with the uncompressed model's top-1 class on at least 91% of the held-out images (250
    labelled images move top-1 in 0.4-point steps; agreement needs no labels and moves less by
    chance). The benchmark's curve uses all 250 calibration images."""
    from helpers import imagenet_reference as reference

    from squeezenet.cli import main
    from squeezenet.deploy.runtime import make_runner
    from squeezenet.formats.weights import load_model

    sample = shared / "imagenet-sample"
    calib = tmp_path / "calib"
    calib.mkdir()
    for photo in sorted((sample / "calib").rglob("*.JPEG"))[:64]:
        (calib / photo.name).symlink_to(photo)
    out = tmp_path / "m.sqz"
    argv = ["compress", "--weights", imagenet_weights, "--calib-data", calib, "--bits", "6"]
    assert main([str(a) for a in [*argv, "--out", out, "--quiet", "--json"]]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rate_weight"] == 1.0  # entropy-constrained k-means is the default
    assert out.stat().st_size <= 700_000
    data = reference(shared, imagenet_reference)  # val/ and fp32's logits, both through ONNX Runtime's fp32 graph
    top1 = make_runner(load_model(out), "onnxruntime")(data["images"]).argmax(1)
    agreement = float((top1 == data["fp32"].argmax(1)).float().mean())
    assert agreement >= 0.91, agreement
