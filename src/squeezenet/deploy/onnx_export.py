"""PyTorch -> ONNX with a dynamic batch axis (the graph every non-torch backend starts from).

Graph: input ``input`` (N x C x H x W, float32, already preprocessed), output ``logits``
(N x classes). The model config, the preprocessing record and class names travel in the
ONNX metadata, so an exported file is as self-describing as our safetensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json

import numpy as np
import onnx
import torch

from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from .fuse import fuse_expands
from .metadata import INPUT_NAME, META_BACKEND, META_INPUT, OPSET, OUTPUT_NAME, PIXELS_NAME, model_metadata

MAX_LOGIT_DIFF = 1e-3


def example_input(loaded: LoadedModel, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    crop = loaded.preprocess.crop
    return torch.randn(batch, loaded.config.in_channels, crop, crop, generator=g)


def to_onnx(loaded: LoadedModel, fuse: bool = False) -> onnx.ModelProto:
    """Export with torch.export (the supported exporter) and attach our metadata. ``fuse``: each
    Fire module's expand convolutions as one (``deploy.fuse``; the same function, recorded as
    the ``graph`` metadata entry).

    The exporter takes 2-4 s for a model that runs in a millisecond, and one process often exports
    the same model several times (``export --format auto`` and ``bench`` build several engines,
    a notebook exports again): each graph is kept, by a digest of everything it is made from,
    for the last ``KEPT_EXPORTS`` models, and a fresh copy handed out."""
    key = (_digest(loaded), fuse)
    if key not in _EXPORTS:
        _EXPORTS[key] = _export(loaded, fuse).SerializeToString()
        while len(_EXPORTS) > KEPT_EXPORTS:
            _EXPORTS.pop(next(iter(_EXPORTS)))
    _EXPORTS[key] = _EXPORTS.pop(key)  # most recently used last
    return onnx.load_from_string(_EXPORTS[key])


KEPT_EXPORTS = 8
_EXPORTS: dict[tuple[str, bool], bytes] = {}


def _digest(loaded: LoadedModel) -> str:
    """Everything a graph is made from: the config, preprocessing, classes and every tensor."""
    h = hashlib.sha256(json.dumps([loaded.config.to_json(), loaded.preprocess.to_json(), loaded.classes]).encode())
    for name, tensor in loaded.model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def _export(loaded: LoadedModel, fuse: bool) -> onnx.ModelProto:
    model = loaded.model.eval().to("cpu")
    model = fuse_expands(model) if fuse else model
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints progress lines
        program = torch.onnx.export(
            model,
            (example_input(loaded),),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    proto = program.model_proto
    meta = model_metadata(loaded)
    if fuse:
        meta["graph"] = "fire expands fused"
    onnx.helper.set_model_props(proto, meta)
    return proto


def with_pixel_input(graph: bytes, preprocess: Preprocess) -> bytes:
    """The graph taking uint8 N x C x H x W pixels (input ``pixels``, ``Preprocess.pixels``) in place
    of the normalised float input: Cast, the channel flip of a BGR model, and the mean
    and std become the graph's first nodes, so the host only decodes and resizes."""
    proto = onnx.load_from_string(graph)
    old = next(i for i in proto.graph.input if i.name == INPUT_NAME)
    channels = old.type.tensor_type.shape.dim[1].dim_value
    crop = old.type.tensor_type.shape.dim[2].dim_value
    mean, std = (np.array(v, dtype=np.float32).reshape(1, -1, 1, 1) for v in preprocess.pixel_affine())
    h, array = onnx.helper, onnx.numpy_helper.from_array
    nodes = [h.make_node("Cast", [PIXELS_NAME], ["pixels_f32"], to=onnx.TensorProto.FLOAT)]
    constants = [array(mean, "pixels_mean"), array(std, "pixels_std")]
    if preprocess.color == "BGR":
        nodes.append(h.make_node("Gather", ["pixels_f32", "pixels_bgr_order"], ["pixels_bgr"], axis=1))
        constants.append(array(np.array([2, 1, 0], np.int64), "pixels_bgr_order"))
    nodes += [
        h.make_node("Sub", [nodes[-1].output[0], "pixels_mean"], ["pixels_centred"]),
        h.make_node("Div", ["pixels_centred", "pixels_std"], [INPUT_NAME]),
    ]
    proto.graph.initializer.extend(constants)
    props = {p.key: p.value for p in proto.metadata_props}
    h.set_model_props(proto, {**props, META_INPUT: "pixels"})
    pixels = h.make_tensor_value_info(PIXELS_NAME, onnx.TensorProto.UINT8, ["batch", channels, crop, crop])
    proto.graph.input.remove(old)
    proto.graph.input.insert(0, pixels)
    body = list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes + body)
    return proto.SerializeToString()


def tagged(proto: onnx.ModelProto, backend: str) -> bytes:
    """A copy of ``proto`` recording the backend it is written for (our readers choose its runner by it)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    props = {p.key: p.value for p in copy.metadata_props}
    onnx.helper.set_model_props(copy, {**props, META_BACKEND: backend})
    return copy.SerializeToString()


def graph_metadata(graph: bytes) -> dict[str, str]:
    """The metadata an ONNX graph carries (config, preprocessing, classes, backend)."""
    from google.protobuf.message import DecodeError

    from ..errors import SqueezeNetError

    try:
        return {p.key: p.value for p in onnx.load_model_from_string(graph).metadata_props}
    except (DecodeError, ValueError, RuntimeError):
        raise SqueezeNetError("not a readable ONNX model (truncated, damaged, or not ONNX)") from None
