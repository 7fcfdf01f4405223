"""Inference backends behind one call: torch, onnxruntime (fp32) and onnxruntime-int8.

Each backend is a callable from a preprocessed float batch to logits, so eval, predict and
bench measure the engine that will ship, on the same inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..errors import SqueezeNetError
from ..io.formats import LoadedModel

BACKENDS = ("torch", "onnxruntime", "onnxruntime-int8")
Runner = Callable[[torch.Tensor], torch.Tensor]


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


def session_runner(session: ort.InferenceSession) -> Runner:
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: np.ascontiguousarray(x.numpy(), dtype=np.float32)})[0])

    return run


def torch_runner(model: torch.nn.Module) -> Runner:
    model = model.eval()

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(x)

    return run


def make_runner(loaded: LoadedModel, backend: str, calib_data: str | Path | torch.Tensor | None = None) -> Runner:
    """A logits function for ``loaded`` on ``backend``; int8 needs calibration images."""
    if backend == "torch":
        return torch_runner(loaded.model)
    from .onnx_export import to_onnx

    proto = to_onnx(loaded)
    if backend == "onnxruntime":
        return session_runner(ort_session(proto.SerializeToString()))
    if backend == "onnxruntime-int8":
        from .quantize import quantize_int8

        if calib_data is None:
            raise SqueezeNetError("--backend onnxruntime-int8 needs --calib-data DIR (unlabelled images)")
        return session_runner(ort_session(quantize_int8(proto, loaded.preprocess, calib_data)))
    raise SqueezeNetError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
