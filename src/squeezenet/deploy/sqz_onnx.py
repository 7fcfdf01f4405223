"""A decoded ``.sqz`` file as an ONNX graph, built from its numpy weights: the model runs on a
device through ONNX Runtime with no PyTorch installed.

Written with ``onnx.helper`` rather than exported by ``torch.onnx`` because the device has no
torch: the graph follows ``models.squeezenet.SqueezeNet`` layer for layer (convolutions with
their padding, the config's max-pools (Caffe's ceil-mode 3x3, or the 2x2 variant), the Fire
module's concatenation, the bypass additions, conv10's ReLU and the global average), and
``tests/deploy`` checks it against the
PyTorch module. Dropout is an identity at inference and has no node.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..formats.sqz import SqzContents
from ..models.config import POOL_GEOMETRY, SqueezeNetConfig
from ..models.names import CONV1, CONV10, fire_positions
from .metadata import INPUT_NAME, OPSET, OUTPUT_NAME

NumpyRunner = Callable[[np.ndarray], np.ndarray]


class _Graph:
    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state, self.nodes, self.weights, self.count = state, [], [], 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def conv(self, x: str, prefix: str, padding: int = 0, stride: int = 1) -> str:
        weight, bias = f"{prefix}.weight", f"{prefix}.bias"
        for key in (weight, bias):
            self.weights.append(numpy_helper.from_array(self.state[key].astype(np.float32), key))
        kernel = self.state[weight].shape[2]
        out = self.name(prefix)
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, weight, bias],
                [out],
                kernel_shape=[kernel, kernel],
                pads=[padding] * 4,
                strides=[stride, stride],
            )
        )
        return out

    def op(self, kind: str, *inputs: str, **attributes: object) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attributes))
        return out


def sqz_graph(contents: SqzContents) -> onnx.ModelProto:
    """The network of a decoded file, fp32, with a dynamic batch axis."""
    config: SqueezeNetConfig = contents.config
    g = _Graph(contents.state())
    _, stride, padding = config.conv1_geometry()
    x = g.op("Relu", g.conv(INPUT_NAME, CONV1, padding, stride))
    pools = config.pools_after()
    kernel, stride, ceil = POOL_GEOMETRY[config.pool]
    pool = dict(kernel_shape=[kernel, kernel], strides=[stride, stride], ceil_mode=int(ceil))
    if "conv1" in pools:
        x = g.op("MaxPool", x, **pool)
    for name, position in zip(config.fire_names(), fire_positions(config.layout)):
        prefix = f"features.{position}"
        s = g.op("Relu", g.conv(x, f"{prefix}.squeeze"))
        e1 = g.op("Relu", g.conv(s, f"{prefix}.expand1x1"))
        e3 = g.op("Relu", g.conv(s, f"{prefix}.expand3x3", padding=1))
        out = g.op("Concat", e1, e3, axis=1)
        kind = config.bypass_kind(name)
        if kind == "identity":
            out = g.op("Add", out, x)
        elif kind == "conv":
            out = g.op("Add", out, g.conv(x, f"{prefix}.shortcut"))
        x = g.op("MaxPool", out, **pool) if name in pools else out
    x = g.op("GlobalAveragePool", g.op("Relu", g.conv(x, CONV10, config.conv10_pad)))
    g.nodes.append(helper.make_node("Flatten", [x], [OUTPUT_NAME], axis=1))
    crop = contents.preprocess.crop
    graph = helper.make_graph(
        g.nodes,
        "squeezenet",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", config.in_channels, crop, crop])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", config.num_classes])],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def sqz_runner(contents: SqzContents, threads: int | None = None) -> NumpyRunner:
    """Logits for a preprocessed float32 batch (N, C, H, W), on ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(sqz_graph(contents).SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x, dtype=np.float32)})[0]
