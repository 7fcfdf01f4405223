import pytest
import torch
import torchvision

from squeezenet.errors import SqueezeNetError
from squeezenet.formats.caffe import caffe_to_torch_names, read_caffemodel, write_caffemodel
from squeezenet.formats.preprocess import CAFFE
from squeezenet.formats.weights import load_model
from squeezenet.models import SqueezeNetConfig


def caffe_blobs_from(model: torch.nn.Module, config: SqueezeNetConfig) -> dict[str, list[torch.Tensor]]:
    state = model.state_dict()
    return {c: [state[f"{t}.weight"], state[f"{t}.bias"]] for c, t in caffe_to_torch_names(config).items()}


@pytest.mark.parametrize("legacy", [False, True])
def test_caffemodel_round_trip_exact(tmp_path, legacy):
    known = {
        "conv1": [torch.randn(96, 3, 7, 7), torch.randn(96)],
        "fire2/squeeze1x1": [torch.randn(16, 96, 1, 1), torch.randn(16)],
    }
    path = tmp_path / "m.caffemodel"
    write_caffemodel(path, known, legacy_shape=legacy)
    back = read_caffemodel(path)
    assert set(back) == set(known)
    for name, tensors in known.items():
        assert torch.equal(back[name][0], tensors[0])
        assert torch.equal(back[name][1].reshape(-1), tensors[1])
        if legacy:
            assert back[name][1].shape == (1, 1, 1, tensors[1].numel())


@pytest.mark.parametrize("legacy", [False, True])
def test_v10_import_is_torchvision_v10_with_padded_conv10(shared, tmp_path, legacy):
    tv = torchvision.models.squeezenet1_0().eval()
    config = SqueezeNetConfig(conv10_pad=1)
    path = tmp_path / "squeezenet_v1.0.caffemodel"
    write_caffemodel(path, caffe_blobs_from(tv, config), legacy_shape=legacy)
    loaded = load_model(path, prototxt=shared / "caffe" / "SqueezeNet_v1.0" / "deploy.prototxt")
    assert loaded.config.conv10_pad == 1 and loaded.config.layout == "v1_0"
    assert loaded.preprocess == CAFFE
    for key, tensor in tv.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], tensor)
    tv.classifier[1].padding = (1, 1)  # the release's conv10 pad
    x = torch.randn(2, 3, 227, 227)
    with torch.no_grad():
        assert (loaded.model(x) - tv(x)).abs().max() < 1e-4
        tv.classifier[1].padding = (0, 0)
        assert (loaded.model(x) - tv(x)).abs().max() > 1e-4  # the pad matters


def test_v11_prototxt_has_no_pad(shared, tmp_path):
    tv = torchvision.models.squeezenet1_1()
    config = SqueezeNetConfig(layout="v1_1")
    path = tmp_path / "v11.caffemodel"
    write_caffemodel(path, caffe_blobs_from(tv, config))
    loaded = load_model(path, prototxt=shared / "caffe" / "SqueezeNet_v1.1" / "deploy.prototxt")
    assert loaded.config == config


def test_garbage_caffemodel_refused(tmp_path, shared):
    path = tmp_path / "bad.caffemodel"
    path.write_bytes(b"\xff\xff\xff\xff not protobuf")
    with pytest.raises(SqueezeNetError):
        load_model(path, prototxt=shared / "caffe" / "SqueezeNet_v1.0" / "deploy.prototxt")


def test_caffemodel_without_prototxt_is_clear(tmp_path):
    path = tmp_path / "x.caffemodel"
    write_caffemodel(path, {"conv1": [torch.zeros(1)]})
    with pytest.raises(SqueezeNetError, match="prototxt"):
        load_model(path)
