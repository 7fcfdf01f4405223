"""The device exports: LiteRT (.tflite), TFLite Micro (.tflite + C header), ExecuTorch (.pte).

Each is written through ``export``, read back through its own runtime, and compared with PyTorch;
the model is the demo's design at 28 px (one channel), the size a microcontroller runs.
"""

import json
import re
import sys

import numpy as np
import pytest
import torch
from helpers import assert_a_flipped_bit_is_refused
from helpers import run_cli as run

from squeezenet.demo import DEMO_DESIGN
from squeezenet.deploy.footprint import peak_activations
from squeezenet.deploy.litert import interpreter, operators, read_metadata
from squeezenet.deploy.metadata import META_BACKEND, META_CLASSES, META_CONFIG
from squeezenet.deploy.shipped import read_shipped
from squeezenet.errors import SqueezeNetError
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.formats.weights import load_model, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig

pytest.importorskip("litert_torch", reason="the litert extra is not installed (make setup installs it)")

pytestmark = pytest.mark.slow  # LiteRT and ExecuTorch conversions: `make check` leaves them to `make test`

CLASSES = [f"c{i}" for i in range(10)]
INT8_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "CONCATENATION", "MEAN", "ADD", "PAD", "QUANTIZE", "RESHAPE"}


@pytest.fixture(scope="module")
def micro_model(tmp_path_factory):
    """The demo's design at 28 px, trained a little so its logits are not all alike, and 32 images."""
    from PIL import Image

    root = tmp_path_factory.mktemp("edge")
    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", in_channels=1, num_classes=10, **DEMO_DESIGN))
    model.eval()
    weights = root / "micro.safetensors"
    save_model(model, weights, FASHION_MNIST, CLASSES)
    rng = np.random.default_rng(0)
    (root / "calib" / "x").mkdir(parents=True)
    for i in range(32):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(root / "calib" / "x" / f"{i}.png")
    return weights, root / "calib"


def _export(capsys, weights, out, *flags):
    code, stdout, err = run(capsys, "export", "--weights", weights, "--out", out, "--json", *flags)
    assert code == 0, err
    return json.loads(stdout)


def _against_torch(weights, path):
    loaded, shipped = load_model(weights), read_shipped(path)
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return float((shipped.engine.runner()(x) - loaded.model.eval()(x)).abs().max()), shipped


def test_litert_fp32_matches_pytorch_and_describes_itself(capsys, micro_model, tmp_path):
    weights, _ = micro_model
    report = _export(capsys, weights, tmp_path / "m.tflite", "--format", "litert")
    assert report["backend"] == "litert" and report["max_logit_diff_random"] < 1e-4
    diff, shipped = _against_torch(weights, tmp_path / "m.tflite")
    assert diff < 1e-4
    assert shipped.classes == CLASSES and shipped.config == load_model(weights).config
    source = interpreter((tmp_path / "m.tflite").read_bytes()).get_input_details()[0]
    assert list(source["shape"]) == [1, 28, 28, 1] and source["dtype"] == np.float32  # NHWC, TFLite's layout
    assert_a_flipped_bit_is_refused(tmp_path / "m.tflite")


def test_litert_int8_is_integer_only_and_runs_in_eval_and_predict(capsys, micro_model, tmp_path):
    weights, calib = micro_model
    out = tmp_path / "q.tflite"
    report = _export(capsys, weights, out, "--format", "litert", "--int8", "--calib-data", calib)
    assert report["backend"] == "litert-int8" and report["int8"]
    tflite = out.read_bytes()
    assert set(operators(tflite)) <= INT8_OPS, operators(tflite)
    engine = interpreter(tflite)
    assert engine.get_input_details()[0]["dtype"] == np.int8 and engine.get_output_details()[0]["dtype"] == np.int8
    meta = read_metadata(tflite)
    assert meta[META_BACKEND] == "litert-int8" and json.loads(meta[META_CLASSES]) == CLASSES
    assert json.loads(meta[META_CONFIG])["in_channels"] == 1
    # int8 follows fp32: its top-1 agrees on most calibration images (an untrained net's logits are close)
    code, stdout, err = run(capsys, "predict", "--weights", out, "--json", *sorted(calib.rglob("*.png"))[:4])
    assert code == 0, err and len(json.loads(stdout)) == 4


def test_tflite_micro_header_and_arena_are_the_files_own(capsys, micro_model, tmp_path):
    weights, calib = micro_model
    out = tmp_path / "fw.tflite"
    report = _export(capsys, weights, out, "--format", "tflite-micro", "--int8", "--calib-data", calib)
    device = report["device"]
    tflite = out.read_bytes()
    model = load_model(weights).model
    assert device["flash_bytes"] == len(tflite)
    # the arena's activation part is exactly the footprint planner's int8 peak
    assert device["activation_bytes"] == device["planned_activation_bytes"] == peak_activations(model, 28, 1)[0]
    assert device["arena_bytes"] >= device["activation_bytes"] + device["persistent_bytes"]
    assert device["fits"]  # the demo's design fits 1 MiB of flash and 256 KiB of RAM
    header = (tmp_path / "fw.h").read_text()
    arena = int(re.search(r"#define FW_ARENA_SIZE (\d+)", header).group(1))
    assert arena == device["arena_bytes"]
    array = re.search(r"fw_tflite\[\] = \{(.*?)\};", header, re.S).group(1)
    assert bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", array)) == tflite
    # TFLM's reference kernels agree with LiteRT's (XNNPACK) on the same int8 file within two output
    # steps: the two round their requantization differently
    shipped = read_shipped(out)
    assert shipped.engine.backend.name == "tflite-micro"
    litert = interpreter(tflite)
    sink = litert.get_output_details()[0]
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1
    from squeezenet.deploy.litert import litert_runner

    steps = (shipped.engine.runner()(x) - litert_runner(tflite)(x)).abs().max() / sink["quantization"][0]
    assert steps <= 2.0 + 1e-4
    # a killed export can leave a new header beside the old .tflite: the pair is refused, not half-used
    (tmp_path / "fw.h").write_text(re.sub(r"squeezenet-sha256:[0-9a-f]{8}", "squeezenet-sha256:00000000", header))
    with pytest.raises(SqueezeNetError, match="holds another model"):
        read_shipped(out)


def test_tflite_micro_without_int8_is_one_line(capsys, micro_model, tmp_path):
    weights, _ = micro_model
    code, _, err = run(
        capsys, "export", "--weights", weights, "--out", tmp_path / "x.tflite", "--format", "tflite-micro"
    )
    assert code == 2 and "int8 only" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.tflite").exists()


def test_executorch_fp32_and_int8_run_in_one_xnnpack_call(capsys, micro_model, tmp_path):
    pytest.importorskip("executorch", reason="the executorch extra is not installed")
    from squeezenet.deploy.pte import instructions
    from squeezenet.deploy.pte import read_metadata as pte_metadata

    weights, calib = micro_model
    report = _export(capsys, weights, tmp_path / "m.pte", "--format", "executorch")
    diff, shipped = _against_torch(weights, tmp_path / "m.pte")
    assert report["backend"] == "executorch" and diff < 1e-4 and shipped.classes == CLASSES
    report = _export(capsys, weights, tmp_path / "q.pte", "--format", "executorch", "--int8", "--calib-data", calib)
    pte = (tmp_path / "q.pte").read_bytes()
    assert report["backend"] == "executorch-int8" and pte_metadata(pte)[META_BACKEND] == "executorch-int8"
    assert instructions(pte) == ["XnnpackBackend"]  # the whole graph: one call into one XNNPACK subgraph
    assert len(pte) < 0.4 * (tmp_path / "m.pte").stat().st_size  # int8 weights
    assert_a_flipped_bit_is_refused(tmp_path / "q.pte")


@pytest.mark.parametrize(
    ("fmt", "module", "extra"), [("litert", "litert_torch", "litert"), ("executorch", "executorch", "executorch")]
)
def test_a_missing_runtime_names_its_extra(capsys, micro_model, tmp_path, monkeypatch, fmt, module, extra):
    weights, _ = micro_model
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")] or [module]:
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    suffix = ".tflite" if fmt == "litert" else ".pte"
    code, _, err = run(capsys, "export", "--weights", weights, "--out", tmp_path / f"x{suffix}", "--format", fmt)
    assert code == 2 and f"pip install 'squeezenet[{extra}]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / f"x{suffix}").exists()


def test_imagenet_int8_device_file_follows_fp32(shared, imagenet_reference):
    """v1.1 ImageNet on the 250 val/ images: the device int8 recipe (LiteRT's file, which TFLite
    Micro runs too) keeps fp32's answers as ONNX Runtime's int8 does, within bounds the
    quantizer as documented misses. ExecuTorch's int8 takes the same recipe (``deploy/pt2e.py``);
    benchmarks/edge.py measures both on ImageNet (docs/results/edge.md)."""
    from helpers import int8_fidelity

    agreement, kl, fp32_top1, int8_top1 = int8_fidelity(shared, imagenet_reference, "litert-int8")
    assert agreement >= 0.92 and kl < 0.016, (agreement, kl)
    assert int8_top1 >= fp32_top1 - 1.2, (fp32_top1, int8_top1)


@pytest.mark.parametrize("suffix", [".tflite", ".pte"])
def test_a_damaged_device_file_is_one_line(capsys, tmp_path, suffix):
    """ExecuTorch's runtime aborts the process on a malformed program: the file is parsed first."""
    pytest.importorskip("executorch", reason="the executorch extra is not installed")
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    code, _, err = run(capsys, "eval", "--weights", bad, "--data", tmp_path)
    assert code == 2 and "not a readable" in err and len(err.strip().splitlines()) == 1
