"""Inference backends behind one call: the one place a backend is chosen by name.

Each backend is a callable from a preprocessed float batch to logits, so eval, predict, bench
and ``export --format auto`` measure the engine that will ship, on the same inputs. The
exportable ones are built as an ``Engine`` (the graph that would be written, and how to run
it), so what is measured is what is written. A new engine is a name in ``BACKENDS`` and a
branch in ``build_engine``; the CLI's choices come from ``BACKENDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
import openvino as ov
import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.atomic import write_bytes
from ..utils.device import has_amx
from .onnx_export import to_onnx
from .openvino import from_onnx, ov_runner, quantize_nncf, read_ir, save_ir
from .ort import Runner, ort_session, session_runner
from .quantize import calibration_images, quantize_int8

BACKENDS = ("torch", "torch-compile", "onnxruntime", "onnxruntime-int8", "openvino", "openvino-int8")
ENGINES = ("onnxruntime", "onnxruntime-int8", "openvino", "openvino-int8")  # those with a file to ship
INT8_BACKENDS = ("onnxruntime-int8", "openvino-int8")
SUFFIX = {"onnxruntime": ".onnx", "openvino": ".xml"}  # by engine family


@dataclass
class Engine:
    """A deployable graph: ONNX bytes for ONNX Runtime, an ``ov.Model`` for OpenVINO."""

    backend: str
    graph: bytes | ov.Model

    @property
    def suffix(self) -> str:
        return SUFFIX[self.backend.removesuffix("-int8")]

    @classmethod
    def load(cls, backend: str, path: str | Path) -> Engine:
        """The engine a written file holds (``export``'s report names its backend)."""
        return cls(backend, Path(path).read_bytes() if SUFFIX[backend.removesuffix("-int8")] == ".onnx" else read_ir(path))

    def runner(self) -> Runner:
        if isinstance(self.graph, bytes):
            return session_runner(ort_session(self.graph))
        # fp32 pinned to f32; int8 leaves the float layers to the plugin (bf16 where native)
        return ov_runner(self.graph, precision=None if self.backend.endswith("-int8") else "f32")

    def save(self, out: str | Path) -> int:
        """Write atomically; the bytes written (an IR's .xml and .bin together)."""
        if isinstance(self.graph, bytes):
            write_bytes(out, self.graph)
            return len(self.graph)
        return save_ir(self.graph, Path(out))


def torch_runner(model: torch.nn.Module, device: torch.device = torch.device("cpu")) -> Runner:
    model = model.eval().to(device)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(x.to(device)).cpu()

    return run


def build_engine(
    loaded: LoadedModel, backend: str, calib_data: str | Path | torch.Tensor | None = None, proto: onnx.ModelProto | None = None
) -> Engine:  # fmt: skip
    """``loaded`` as ``backend``'s graph; int8 is calibrated on ``calib_data``. ``proto``: an
    ONNX export of ``loaded`` already made (exporting takes seconds); unused where the engine
    needs another graph (OpenVINO int8 on AMX), which is then exported once, not twice."""
    if backend not in ENGINES:
        raise SqueezeNetError(f"unknown engine {backend!r}; choose from {', '.join(ENGINES)}")
    if backend in INT8_BACKENDS and calib_data is None:
        raise SqueezeNetError(f"--backend {backend} needs --calib-data DIR (unlabelled images)")
    if backend == "openvino-int8" and has_amx():  # the fused-expand graph (deploy/fuse.py: measured per ISA)
        proto = to_onnx(loaded, fuse=True)
    proto = proto or to_onnx(loaded)
    if backend == "onnxruntime":
        return Engine(backend, proto.SerializeToString())
    if backend == "onnxruntime-int8":
        return Engine(backend, quantize_int8(proto, loaded.preprocess, calib_data))
    if backend == "openvino":
        return Engine(backend, from_onnx(proto))
    return Engine(backend, quantize_nncf(from_onnx(proto), calibration_images(calib_data, loaded.preprocess)))


def make_runner(
    loaded: LoadedModel, backend: str, calib_data: str | Path | torch.Tensor | None = None,
    device: torch.device = torch.device("cpu"),
) -> Runner:  # fmt: skip
    """A logits function for ``loaded`` on ``backend``; int8 needs calibration images."""
    if backend not in BACKENDS:
        raise SqueezeNetError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "torch":
        return torch_runner(loaded.model, device)
    if backend == "torch-compile":
        return torch_runner(torch.compile(loaded.model.eval().to(device)), device)
    return build_engine(loaded, backend, calib_data).runner()
