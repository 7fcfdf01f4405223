import pytest
import torch
import torchvision
from helpers import formula_params

from squeezenet.errors import SqueezeNetError
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.models.fold import fold_batch_norm
from squeezenet.models.registry import arch_config
from squeezenet.models.summary import summarize
from squeezenet.zoo import squeezenet1_0, squeezenet1_1

# Table 1 of the paper, params column.
TABLE1_V10 = {
    "conv1": 14_208,
    "fire2": 11_920,
    "fire3": 12_432,
    "fire4": 45_344,
    "fire5": 49_440,
    "fire6": 104_880,
    "fire7": 111_024,
    "fire8": 188_992,
    "fire9": 197_184,
    "conv10": 513_000,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_v10_matches_table1_per_layer():
    summary = summarize(squeezenet1_0(), 227)
    assert {r.name: r.params for r in summary.layers} == TABLE1_V10
    assert summary.total_params == 1_248_424
    shapes = {r.name: r.output for r in summary.layers}
    assert shapes["conv1"] == (111, 111, 96) and shapes["fire2"] == (55, 55, 128)
    assert shapes["fire9"] == (13, 13, 512) and shapes["conv10"] == (13, 13, 1000)


def test_v11_total():
    assert n_params(squeezenet1_1()) == 1_235_496


@pytest.mark.parametrize(
    "changes",
    [
        {"sr": 0.25},
        {"sr": 0.75},
        {"sr": 1.0},
        {"pct3x3": 0.01},
        {"pct3x3": 0.99, "sr": 0.5},
        {"base_e": 64, "incr_e": 32, "freq": 4},
        {"layout": "v1_1", "sr": 0.5, "num_classes": 10},
        {"stem": "small", "in_channels": 1, "num_classes": 10},
        {"stem": "strided", "norm": "squeeze", "num_classes": 10},
    ],
)
def test_metaparameter_formula(changes):
    config = SqueezeNetConfig(**changes)
    assert n_params(SqueezeNet(config)) == formula_params(config)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"layout": "v1_1"},
        {"bypass": "complex"},
        {"layout": "v1_1", "bypass": "simple", "stem": "strided", "norm": "squeeze"},
        {"stem": "small", "in_channels": 1, "num_classes": 10, "sr": 0.5},
        {"conv10_pad": 1, "pct3x3": 0.25},
    ],
)
def test_tensor_shapes_by_arithmetic_are_the_modules_own(changes):
    """What every reader checks a file against, with no torch: the same keys, order and shapes."""
    from squeezenet.models.names import tensor_shapes

    config = SqueezeNetConfig(**changes)
    state = SqueezeNet(config).state_dict()
    assert list(tensor_shapes(config).items()) == [(k, tuple(v.shape)) for k, v in state.items()]


def test_v10_defaults_are_table1_widths():
    widths = SqueezeNetConfig().fire_widths()
    assert widths[0] == (16, 64, 64) and widths[2] == (32, 128, 128) and widths[7] == (64, 256, 256)


def test_bypass_parameter_counts():
    plain = SqueezeNet(SqueezeNetConfig())
    simple = SqueezeNet(SqueezeNetConfig(bypass="simple"))
    complex_ = SqueezeNet(SqueezeNetConfig(bypass="complex"))
    assert n_params(simple) == n_params(plain)
    # 1x1 convs (with bias) around fire2, 4, 6, 8: 96->128, 128->256, 256->384, 384->512
    shortcuts = sum(i * o + o for i, o in [(96, 128), (128, 256), (256, 384), (384, 512)])
    assert n_params(complex_) - n_params(plain) == shortcuts


def test_simple_bypass_changes_the_function():
    torch.manual_seed(1)
    plain = SqueezeNet(SqueezeNetConfig(layout="v1_1")).eval()
    simple = SqueezeNet(SqueezeNetConfig(layout="v1_1", bypass="simple")).eval()
    simple.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 96, 96)
    assert not torch.allclose(plain(x), simple(x))


def test_simple_bypass_rejects_mismatched_channels():
    with pytest.raises(SqueezeNetError, match="simple bypass"):
        SqueezeNetConfig(bypass="simple", freq=1)


@pytest.mark.parametrize(
    "ours,theirs",
    [(squeezenet1_0, torchvision.models.squeezenet1_0), (squeezenet1_1, torchvision.models.squeezenet1_1)],
)
def test_same_keys_and_logits_as_torchvision(ours, theirs):
    tv = theirs().eval()
    model = ours().eval()
    assert list(model.state_dict()) == list(tv.state_dict())
    model.load_state_dict(tv.state_dict())
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert (model(x) - tv(x)).abs().max() < 1e-4


def test_shared_weights_logits_equal_torchvision(imagenet_weights):
    state = torch.load(imagenet_weights, weights_only=True)
    tv = torchvision.models.squeezenet1_1()
    tv.load_state_dict(state)
    model = squeezenet1_1(weights=imagenet_weights)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert (model(x) - tv.eval()(x)).abs().max() < 1e-4


def test_small_stem_on_fashion_mnist_size():
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)).eval()
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    rows = {r.name: r.output for r in summarize(model, 28).layers}
    assert rows["conv1"] == (28, 28, 64) and rows["fire9"] == (3, 3, 512)


def test_strided_stem_keeps_every_key_where_torchvision_has_it():
    small = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10))
    strided = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="strided", in_channels=1, num_classes=10)).eval()
    assert strided.state_dict().keys() == small.state_dict().keys()
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in strided.features[:3])
    rows = {r.name: r.output for r in summarize(strided, 28).layers}
    assert rows["conv1"] == (14, 14, 64) and rows["fire2"] == (14, 14, 128) and rows["fire9"] == (3, 3, 512)
    assert strided(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_folded_batch_norm_computes_what_the_trained_model_did():
    config = SqueezeNetConfig(
        layout="v1_1", stem="strided", bypass="simple", norm="squeeze", in_channels=1, num_classes=10
    )
    torch.manual_seed(0)
    model = SqueezeNet(config)
    with torch.no_grad():
        for _ in range(3):  # training-mode passes move the running statistics away from (0, 1)
            model(torch.randn(16, 1, 28, 28) * 3 + 1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 2.0)
                m.bias.uniform_(-0.5, 0.5)
    rng = torch.get_rng_state()
    folded = fold_batch_norm(model)
    assert torch.equal(torch.get_rng_state(), rng)  # saving a model never moves a seeded run's RNG
    assert all(p.requires_grad and p.device.type == "cpu" for p in folded.parameters())
    assert folded.final_conv.weight.data_ptr() != model.final_conv.weight.data_ptr()  # a copy, not a view
    assert model.training and folded.training and model.features[3].squeeze_bn is not None  # the original untouched
    assert folded.config == config.replace(norm="none")
    assert folded.state_dict().keys() == SqueezeNet(config.replace(norm="none")).state_dict().keys()
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        expected, got = model.eval()(x), folded.eval()(x)
    assert expected.abs().max() > 0.01  # not two dead networks agreeing on zeros
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    plain = SqueezeNet(config.replace(norm="none"))
    assert fold_batch_norm(plain) is plain


def test_the_fpga_variant_pools_without_overlap_on_the_same_tensors():
    paper = SqueezeNet(SqueezeNetConfig(layout="v1_1")).eval()
    fpga = SqueezeNet(SqueezeNetConfig(layout="v1_1", pool="2x2")).eval()
    fpga.load_state_dict(paper.state_dict())  # the same tensors: a state dict loads into either
    pools = [m for m in fpga.features if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.kernel_size == 2 and p.stride == 2 and not p.ceil_mode for p in pools)
    rows = {r.name: r.output for r in summarize(fpga, 224).layers}
    assert rows["fire9"] == (13, 13, 512)  # 111 -> 55 -> 27 -> 13 rounded down, as 3x3 rounded up
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert not torch.allclose(fpga(x), paper(x))  # another function: it is trained as such


def test_a_plain_config_is_written_as_earlier_versions_read_it():
    assert not {"norm", "pool"} & set(SqueezeNetConfig().to_dict())  # their readers refuse fields they do not know
    for config in (SqueezeNetConfig(), SqueezeNetConfig(norm="squeeze"), SqueezeNetConfig(pool="2x2")):
        assert SqueezeNetConfig.from_json(config.to_json()) == config


def test_invalid_config_is_one_clear_error():
    with pytest.raises(SqueezeNetError, match="pct3x3"):
        SqueezeNetConfig(pct3x3=1.5)
    with pytest.raises(SqueezeNetError, match="pool must be one of"):
        SqueezeNetConfig(pool="4x4")


@pytest.mark.parametrize(("stem", "pool"), [("imagenet", "3x3"), ("small", "3x3"), ("strided", "2x2")])
@pytest.mark.parametrize("arch", ["squeezenet1_0", "squeezenet1_1"])
def test_the_smallest_input_is_the_one_pytorch_runs(arch, stem, pool):
    """``min_input_size`` by arithmetic: `train` refuses a smaller --input-size before any work,
    where PyTorch would fail mid-run ("Output size is too small")."""
    config = arch_config(arch, stem=stem, pool=pool, num_classes=3)
    model, smallest = SqueezeNet(config).eval(), config.min_input_size()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, smallest, smallest)).shape == (1, 3)
        with pytest.raises(RuntimeError):
            model(torch.zeros(1, 3, smallest - 1, smallest - 1))
