import hashlib

import pytest
import torch
import torchvision

from squeezenet.errors import SqueezeNetError
from squeezenet.formats.hub import imagenet_state_dict
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.formats.weights import load_model, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig


def test_safetensors_carries_the_architecture(tmp_path):
    config = SqueezeNetConfig(
        layout="v1_1", sr=0.25, pct3x3=0.75, bypass="simple", stem="small", in_channels=1, num_classes=10
    )
    model = SqueezeNet(config)
    path = tmp_path / "m.safetensors"
    save_model(model, path, FASHION_MNIST, classes=[str(i) for i in range(10)])
    loaded = load_model(path)
    assert loaded.config == config and loaded.preprocess == FASHION_MNIST and loaded.classes[3] == "3"
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], tensor)


def test_a_batch_normed_model_is_written_folded(tmp_path):
    config = SqueezeNetConfig(
        layout="v1_1", stem="strided", bypass="simple", norm="squeeze", in_channels=1, num_classes=10
    )
    torch.manual_seed(0)
    model = SqueezeNet(config)
    with torch.no_grad():
        model(torch.randn(16, 1, 28, 28) * 2 + 1)  # running statistics away from their start
    save_model(model, tmp_path / "m.safetensors", FASHION_MNIST)
    save_model(model, tmp_path / "m.pth", FASHION_MNIST)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        expected = model.eval()(x)
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.config == config.replace(norm="none")
    torch.testing.assert_close(loaded.model.eval()(x), expected, rtol=1e-4, atol=1e-5)
    # the .pth holds torchvision's keys: a plain SqueezeNet state dict, loadable anywhere
    assert (
        torch.load(tmp_path / "m.pth", weights_only=True).keys()
        == torchvision.models.squeezenet1_1().state_dict().keys()
    )


@pytest.mark.parametrize("arch,layout", [("squeezenet1_0", "v1_0"), ("squeezenet1_1", "v1_1")])
def test_torchvision_pth_infers_arch(tmp_path, arch, layout):
    tv = getattr(torchvision.models, arch)(num_classes=7)
    torch.save(tv.state_dict(), tmp_path / "w.pth")
    loaded = load_model(tmp_path / "w.pth")
    assert loaded.config.layout == layout and loaded.config.num_classes == 7


def test_complex_bypass_inferred_from_pth(tmp_path):
    model = SqueezeNet(SqueezeNetConfig(bypass="complex"))
    save_model(model, tmp_path / "c.pth")
    assert load_model(tmp_path / "c.pth").config.bypass == "complex"


def test_arch_mismatch_is_an_error(tmp_path):
    torch.save(torchvision.models.squeezenet1_0().state_dict(), tmp_path / "w.pth")
    from squeezenet.models import arch_config

    with pytest.raises(SqueezeNetError, match="do not match"):
        load_model(tmp_path / "w.pth", arch=arch_config("squeezenet1_1"))


@pytest.mark.parametrize(
    "name,data",
    [
        ("e.pth", b""),
        ("g.pth", b"garbage"),
        ("e.safetensors", b""),
        ("g.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage"),
        ("w.onnx", b"x"),
    ],
)
def test_bad_files_refused(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(SqueezeNetError):
        load_model(tmp_path / name)


def test_pth_is_loaded_without_unpickling_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"features.0.weight": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(SqueezeNetError):
        load_model(tmp_path / "evil.pth")


def test_imagenet_download_checks_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    state = torchvision.models.squeezenet1_1().state_dict()
    raw = tmp_path / "raw.pth"
    torch.save(state, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    good = tmp_path / f"squeezenet1_1-{digest[:8]}.pth"
    raw.rename(good)
    loaded = imagenet_state_dict("squeezenet1_1", url=good.as_uri())
    assert torch.equal(loaded["features.0.weight"], state["features.0.weight"])
    bad = tmp_path / "squeezenet1_1-00000000.pth"
    bad.write_bytes(good.read_bytes())
    with pytest.raises(SqueezeNetError, match="checksum"):
        imagenet_state_dict("squeezenet1_1", url=bad.as_uri())


def test_imagenet_offline_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    with pytest.raises(SqueezeNetError, match="cannot download"):
        imagenet_state_dict("squeezenet1_1", url=(tmp_path / "missing-12345678.pth").as_uri())
