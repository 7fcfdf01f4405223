"""The FPGA path: ``export --format hls4ml`` writes an HLS project whose C simulation (g++, bit-accurate)
is checked against PyTorch; the precision of each layer comes from profiling.

One small model of the FPGA variant (2x2 pools, the simple bypass, RGB at 16 px) is exported once
for the module: hls4ml's C++ takes about 20 s to compile whatever the model's size.
"""

import json
import sys

import numpy as np
import pytest
import torch
from helpers import run_cli as run

from squeezenet.deploy.export import export
from squeezenet.deploy.hls import convert, fixed_format, layer_config, streamable
from squeezenet.deploy.metadata import FOLDER_METADATA
from squeezenet.deploy.options import ExportOptions
from squeezenet.errors import OptionError, SqueezeNetError
from squeezenet.formats.preprocess import Preprocess
from squeezenet.formats.weights import load_model, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig

pytest.importorskip("hls4ml", reason="the fpga extra is not installed (make setup installs it)")

pytestmark = pytest.mark.slow  # an hls4ml project compiled with g++: `make check` leaves it to `make test`

CLASSES = ["ant", "bee", "wasp"]
SIDE = 16
FPGA = SqueezeNetConfig(
    layout="v1_1", stem="small", base_e=16, incr_e=16, bypass="simple", pool="2x2", num_classes=3, dropout=0.0
)


def _images(root, n, seed):
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (SIDE, SIDE, 3), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def _export(capsys, weights, calib, out):
    return run(capsys, "export", "--weights", weights, "--format", "hls4ml", "--calib-data", calib, "--out", out)


def _save(config, path):
    torch.manual_seed(0)
    model = SqueezeNet(config).eval()
    with torch.no_grad():  # a conv10 wide enough that the three logits are told apart
        model.final_conv.weight.mul_(30.0)
    save_model(model, path, Preprocess(resize=SIDE, crop=SIDE), CLASSES)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("hls")
    weights = _save(FPGA, root / "fpga.safetensors")
    calib = _images(root / "calib" / "ant", 48, seed=0).parent  # also a labelled folder (every image an ant)
    report = export(load_model(weights), root / "m.hls4ml", ExportOptions("hls4ml", calib_data=calib))
    assert not list((root / "m.hls4ml").rglob("*.so"))  # the sources; the C simulation's build stays behind
    return weights, calib, root / "m.hls4ml", report.to_dict()


def test_c_simulation_agrees_with_pytorch(exported, capsys):
    _, calib, project, report = exported
    assert report["backend"] == "hls4ml" and report["top1_agreement_real"] >= 95.0
    assert report["max_logit_diff_real"] < 0.05
    # a written project is not run again: compiling it is running its code
    code, _, err = run(capsys, "eval", "--weights", project, "--data", calib)
    assert code == 2 and "compiling and executing its code" in err and len(err.strip().splitlines()) == 1


def test_the_precision_is_profiled(exported):
    _, _, project, report = exported
    metadata = json.loads((project / FOLDER_METADATA).read_text())
    assert json.loads(metadata["classes"]) == CLASSES and metadata["squeezenet_backend"] == "hls4ml"
    assert SqueezeNetConfig.from_json(metadata["squeezenet_config"]) == FPGA
    formats = json.loads(metadata["fixed_point"])
    assert formats == report["device"]["formats"]
    assert formats["features_1"].startswith("ap_ufixed<16,")  # conv1's ReLU is never negative: unsigned
    assert formats["features_0"].startswith("ap_fixed<16,")  # conv1 itself is signed
    low, high = report["device"]["integer_bits"]
    assert report["device"]["fixed_bits"] == 16 and low < high  # integer bits follow each layer's range
    assert (project / "firmware" / "squeezenet.cpp").is_file()


def test_fixed_formats_hold_the_range():
    assert fixed_format(0.0, 5.9, 16) == "ap_ufixed<16,3,AP_RND_CONV,AP_SAT>"  # [0, 8)
    assert fixed_format(-8.0, 1.0, 12) == "ap_fixed<12,5,AP_RND_CONV,AP_SAT>"  # [-16, 16): 8 needs 4 bits and a sign
    assert fixed_format(-0.02, 0.03, 8) == "ap_fixed<8,-4,AP_RND_CONV,AP_SAT>"  # below 1/32: no integer bits at all


def test_layer_shapes_catch_what_hls4ml_drops(tmp_path):
    """A ceil-mode pool (the paper's, past the check that refuses it): hls4ml builds it one pixel
    short, and the comparison with PyTorch's shapes stops the export."""
    model = SqueezeNet(FPGA.replace(pool="3x3")).eval()
    model.classifier[-1] = torch.nn.AvgPool2d(2)
    config, ranges = layer_config(model, torch.rand(2, 3, SIDE, SIDE), 16)
    assert ranges["features_2"][2] == (64, 8, 8)  # 16 -> 8 in ceil mode (7 rounded down)
    with pytest.raises(SqueezeNetError, match="features_2"):
        convert(model, config, ranges, tmp_path / "p")


def test_the_paper_pools_are_refused_in_one_line(capsys, exported, tmp_path):
    _, calib, _, _ = exported
    weights = _save(FPGA.replace(pool="3x3"), tmp_path / "paper.safetensors")
    code, _, err = _export(capsys, weights, calib, tmp_path / "p.hls4ml")
    assert code == 2 and "--pool 2x2" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.hls4ml").exists()
    with pytest.raises(SqueezeNetError, match="pool 2x2"):
        streamable(load_model(weights))


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (ExportOptions("hls4ml", calib_data="x", fixed_bits=4), "fixed_bits"),
        (ExportOptions("hls4ml"), "format"),
        (ExportOptions("hls4ml", int8=True, calib_data="x"), "int8"),
        (ExportOptions("onnx", fixed_bits=12), "fixed_bits"),
    ],
)
def test_bad_options_are_refused_before_any_work(options, says):
    with pytest.raises(OptionError) as caught:
        options.check()
    assert caught.value.field == says


def test_a_folder_of_the_users_is_never_replaced(capsys, exported, tmp_path):
    weights, calib, _, _ = exported
    mine = tmp_path / "mine.hls4ml"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code, _, err = _export(capsys, weights, calib, mine)
    assert code == 2 and "not replaced" in err and (mine / "notes.txt").read_text() == "keep"


def test_without_the_extra_the_line_names_it(capsys, exported, tmp_path, monkeypatch):
    weights, calib, _, _ = exported
    for name in [m for m in sys.modules if m == "hls4ml" or m.startswith("hls4ml.")] or ["hls4ml"]:
        monkeypatch.setitem(sys.modules, name, None)
    code, _, err = _export(capsys, weights, calib, tmp_path / "x.hls4ml")
    assert code == 2 and "pip install 'squeezenet[fpga]'" in err and len(err.strip().splitlines()) == 1
