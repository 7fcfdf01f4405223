"""The Python API a torchvision or timm user reaches for first: ``import squeezenet``."""

import subprocess
import sys

import pytest
import torch

import squeezenet
from squeezenet.errors import OptionError


def test_the_facade_names_what_it_exports():
    assert set(squeezenet.__all__) >= {"create_model", "list_models", "load_model", "save_model", "compress", "export"}
    assert squeezenet.list_models() == ["squeezenet1_0", "squeezenet1_1"]
    assert squeezenet.list_models("*1_1") == ["squeezenet1_1"]
    for name in ("create_model", "load_model", "save_model", "compress", "export"):
        assert "Args:" in getattr(squeezenet, name).__doc__
    with pytest.raises(AttributeError):
        squeezenet.not_a_name  # noqa: B018


@pytest.mark.slow
def test_create_save_load_compress_export_round_trip(tmp_path):
    torch.manual_seed(0)
    model = squeezenet.create_model("squeezenet1_1", num_classes=3, base_e=32, incr_e=32)
    assert model.final_conv.out_channels == 3
    squeezenet.save_model(model, tmp_path / "m.safetensors", classes=["a", "b", "c"])
    loaded = squeezenet.load_model(tmp_path / "m.safetensors")
    x = torch.randn(2, 3, 224, 224)
    assert torch.equal(loaded(x), model.eval()(x)) and loaded.classes == ["a", "b", "c"]
    from PIL import Image

    assert loaded.transform(Image.new("RGB", (300, 240))).shape == (3, 224, 224)
    compressed = squeezenet.compress(loaded, tmp_path / "m.sqz", bits=4)
    assert (tmp_path / "m.sqz").read_bytes() == compressed.data and compressed.report.file_bytes == len(compressed.data)
    report = squeezenet.export(tmp_path / "m.safetensors", tmp_path / "m.onnx")
    assert report.backend == "onnxruntime" and report.max_logit_diff_random < 1e-3
    with pytest.raises(OptionError, match=r"^bits must be at most 8, got 12"):
        squeezenet.compress(loaded, bits=12)


def test_import_squeezenet_loads_no_torch():
    code = "import sys, squeezenet; squeezenet.__version__; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_compress_export_and_save_take_the_module_create_model_returns(tmp_path, imagenet_weights):
    """A torchvision user passes the module: its preprocessing and classes travel with it."""
    model = squeezenet.create_model("squeezenet1_1", weights=imagenet_weights, num_classes=2)
    assert model.classes is None and model.preprocess.crop == 224  # a new head: no names yet
    model.classes = ["ants", "bees"]
    compressed = squeezenet.compress(model, tmp_path / "m.sqz", bits=8)
    assert squeezenet.load_model(tmp_path / "m.sqz").classes == ["ants", "bees"] and compressed.report.file_bytes
    report = squeezenet.export(model, tmp_path / "m.onnx")
    assert report.max_logit_diff_random < 1e-3
    squeezenet.save_model(model, tmp_path / "m.safetensors")
    assert squeezenet.load_model(tmp_path / "m.safetensors").classes == ["ants", "bees"]
    gray = squeezenet.create_model("squeezenet1_1", num_classes=10, in_channels=1, stem="small")
    assert squeezenet.export(gray, tmp_path / "gray.onnx").backend == "onnxruntime"  # Fashion-MNIST's convention
