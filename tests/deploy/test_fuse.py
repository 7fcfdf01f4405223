import numpy as np
import onnx
import pytest
import torch

from squeezenet.deploy.fuse import FusedExpandFire, fuse_expands
from squeezenet.deploy.onnx_export import INPUT_NAME, OUTPUT_NAME, to_onnx
from squeezenet.deploy.openvino import metadata
from squeezenet.deploy.ort import ort_session
from squeezenet.deploy.runtime import build_engine
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import IMAGENET
from squeezenet.models import Fire, SqueezeNet, SqueezeNetConfig

pytestmark = pytest.mark.slow  # engines built and timed: `make check` leaves them to `make test`


@pytest.mark.parametrize(
    "config",
    [
        SqueezeNetConfig(layout="v1_0"),
        SqueezeNetConfig(layout="v1_1", bypass="simple"),
        SqueezeNetConfig(layout="v1_1", bypass="complex", stem="small", num_classes=10, in_channels=1),
    ],
    ids=["v1_0", "v1_1-simple-bypass", "small-complex-bypass"],
)
def test_fused_expands_compute_the_same_function_and_leave_the_model_alone(config):
    model = SqueezeNet(config).eval()
    for p in model.parameters():  # nonzero biases, so a bias in the wrong slot would show
        torch.nn.init.normal_(p, std=0.05)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fused = fuse_expands(model)
    assert not any(isinstance(m, Fire) for m in fused.modules())
    assert sum(isinstance(m, FusedExpandFire) for m in fused.modules()) == 8
    size = 32 if config.stem == "small" else 224
    x = torch.randn(2, config.in_channels, size, size)
    with torch.no_grad():
        assert torch.allclose(fused(x), model(x), atol=1e-4, rtol=1e-4)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_fused_onnx_graph_has_no_concat_says_so_and_matches():
    torch.manual_seed(0)
    loaded = LoadedModel(SqueezeNet(SqueezeNetConfig(num_classes=5)).eval(), IMAGENET, "test")
    proto = to_onnx(loaded, fuse=True)
    assert {p.key: p.value for p in proto.metadata_props}["graph"] == "fire expands fused"
    assert "Concat" not in {n.op_type for n in proto.graph.node}
    assert "Concat" in {n.op_type for n in to_onnx(loaded).graph.node}
    x = torch.randn(3, 3, 224, 224)
    out = ort_session(proto.SerializeToString()).run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    with torch.no_grad():
        assert np.abs(out - loaded.model(x).numpy()).max() < 1e-3
    assert onnx.checker.check_model(proto) is None


def test_the_fused_graph_is_a_recipe_of_its_own_whatever_the_cpu():
    """Which graph runs faster is measured (export --format auto), never read off an ISA flag."""
    torch.manual_seed(0)
    loaded = LoadedModel(SqueezeNet(SqueezeNetConfig(num_classes=4)).eval(), IMAGENET, "test")
    calib = torch.randn(8, 3, 224, 224)
    assert metadata(build_engine(loaded, "openvino-int8-fused", calib).graph)["graph"] == "fire expands fused"
    assert "graph" not in metadata(build_engine(loaded, "openvino-int8", calib).graph)
    assert "graph" not in metadata(build_engine(loaded, "openvino").graph)


def test_an_unfolded_batch_norm_is_refused_not_dropped():
    with pytest.raises(ValueError, match="fold the batch norm"):
        fuse_expands(SqueezeNet(SqueezeNetConfig(layout="v1_1", norm="squeeze")))
