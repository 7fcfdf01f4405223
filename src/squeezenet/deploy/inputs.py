"""What every backend builds from, shared by the builds of one model (``deploy/backends.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .precision import DEFAULT_FIXED_BITS

if TYPE_CHECKING:
    import onnx
    import torch

    from ..formats.loaded import LoadedModel


@dataclass
class BuildInputs:
    """What a backend builds from: the model, preprocessed calibration images (int8), the device,
    and the model's ONNX export, made on first use and shared by every backend that needs it."""

    loaded: LoadedModel
    calib: torch.Tensor | None = None
    device: Any = None  # torch.device; the CPU when None
    fixed_bits: int = DEFAULT_FIXED_BITS  # hls4ml: each fixed-point number's width (the integer part is profiled)
    onnx_proto: onnx.ModelProto | None = field(default=None, repr=False)

    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # graphs several recipes start from

    def proto(self) -> onnx.ModelProto:
        if self.onnx_proto is None:
            from .onnx_export import to_onnx

            self.onnx_proto = to_onnx(self.loaded)
        return self.onnx_proto

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]
