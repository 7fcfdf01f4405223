"""``squeezenet export``: fp32 or int8 ONNX from any supported weight file, verified before writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.atomic import write_bytes
from .onnx_export import example_input, export_onnx, max_logit_difference, to_onnx
from .quantize import quantize_int8

FORMATS = ("onnx",)


def export(
    loaded: LoadedModel, out: str | Path, format: str = "onnx", int8: bool = False,  # noqa: A002 - the CLI's word
    calib_data: str | Path | torch.Tensor | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write ``loaded`` as ``format`` (fp32, or int8 calibrated on ``calib_data``), verified first."""
    if format not in FORMATS:
        raise SqueezeNetError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
    if Path(out).suffix.lower() != ".onnx":
        raise SqueezeNetError(f"{out}: the output of --format onnx must end in .onnx")
    if not int8:
        return export_onnx(loaded, out)
    if calib_data is None:
        raise SqueezeNetError("--int8 needs --calib-data DIR (unlabelled images)")
    quantized = quantize_int8(to_onnx(loaded), loaded.preprocess, calib_data)
    report = {"max_logit_diff_random": max_logit_difference(loaded, quantized, example_input(loaded, batch=4, seed=1)), "int8": True}
    write_bytes(out, quantized)
    report["bytes"] = len(quantized)
    return report
