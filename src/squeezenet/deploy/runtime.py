"""Inference backends behind one call: the one place a backend is chosen by name.

Each backend is a callable from a preprocessed float batch to logits, so eval, predict and
bench measure the engine that will ship, on the same inputs. A new engine is a name in
``BACKENDS`` and a branch in ``make_runner``; the CLI's choices come from ``BACKENDS``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from .onnx_export import to_onnx
from .ort import Runner, ort_session, session_runner
from .quantize import quantize_int8

BACKENDS = ("torch", "torch-compile", "onnxruntime", "onnxruntime-int8")


def torch_runner(model: torch.nn.Module, device: torch.device = torch.device("cpu")) -> Runner:
    model = model.eval().to(device)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(x.to(device)).cpu()

    return run


def make_runner(
    loaded: LoadedModel, backend: str, calib_data: str | Path | torch.Tensor | None = None,
    device: torch.device = torch.device("cpu"),
) -> Runner:  # fmt: skip
    """A logits function for ``loaded`` on ``backend``; int8 needs calibration images."""
    if backend not in BACKENDS:
        raise SqueezeNetError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "onnxruntime-int8" and calib_data is None:
        raise SqueezeNetError("--backend onnxruntime-int8 needs --calib-data DIR (unlabelled images)")
    if backend == "torch":
        return torch_runner(loaded.model, device)
    if backend == "torch-compile":
        return torch_runner(torch.compile(loaded.model.eval().to(device)), device)
    proto = to_onnx(loaded)
    if backend == "onnxruntime":
        return session_runner(ort_session(proto.SerializeToString()))
    return session_runner(ort_session(quantize_int8(proto, loaded.preprocess, calib_data)))
