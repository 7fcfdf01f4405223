"""ONNX Runtime: sessions (providers, threads, a logits function over a session), and the
onnxruntime backends' graphs (fp32, and static int8 by ``quantize.py``).

Exports are verified through an ONNX Runtime session, backends run one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort
import torch

from ..errors import SqueezeNetError
from .metadata import Runner

if TYPE_CHECKING:
    from .inputs import BuildInputs


def providers() -> list[str]:
    """CUDA / TensorRT when this onnxruntime build and machine have them, always the CPU."""
    available = ort.get_available_providers()
    preferred = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in preferred if p in available]


def ort_session(model: bytes | str | Path, threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, sess_options=options, providers=providers())
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise SqueezeNetError(f"onnxruntime cannot load the model: {first[:200]}") from None


def session_runner(session: ort.InferenceSession, dtype: type = np.float32) -> Runner:
    """Logits of a batch; ``dtype``: the graph's input type (uint8 for a graph that takes pixels)."""
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: np.ascontiguousarray(x.numpy(), dtype=dtype)})[0])

    return run


def fp32_graph(inputs: BuildInputs) -> bytes:
    """The model's fp32 ONNX graph, tagged ``onnxruntime``."""
    from .onnx_export import tagged

    return tagged(inputs.proto(), "onnxruntime")


def int8_bytes(inputs: BuildInputs) -> bytes:
    """Our static int8 graph (``quantize.py``), made once per build inputs (OpenVINO runs it too)."""
    from .quantize import quantize_int8

    return inputs.once("onnxruntime-int8", lambda: quantize_int8(inputs.proto(), inputs.calib))


def int8_graph(inputs: BuildInputs, name: str = "onnxruntime-int8", defaults: bool = False) -> bytes:
    """Static int8, our recipe, or with ``defaults`` ``quantize_static``'s own; tagged ``name``."""
    import onnx

    from .onnx_export import tagged
    from .quantize import static_int8

    graph = static_int8(inputs.proto(), inputs.calib) if defaults else int8_bytes(inputs)
    return tagged(onnx.load_from_string(graph), name)


def graph_runner(graph: bytes) -> Runner:
    return session_runner(ort_session(graph))


def pixel_runner(graph: bytes) -> Runner:
    """Logits of uint8 pixels, for a graph that takes them."""
    return session_runner(ort_session(graph), np.uint8)
