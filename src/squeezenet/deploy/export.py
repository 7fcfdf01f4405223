"""``squeezenet export``: fp32 or int8 ONNX from any supported weight file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SqueezeNetError
from ..io.formats import LoadedModel
from ..utils.atomic import write_bytes
from .onnx_export import export_onnx, to_onnx


def export(loaded: LoadedModel, out: str | Path, int8: bool = False, calib_data: str | Path | None = None) -> dict[str, Any]:
    if Path(out).suffix.lower() != ".onnx":
        raise SqueezeNetError(f"{out}: the output of --format onnx must end in .onnx")
    if not int8:
        return export_onnx(loaded, out)
    if calib_data is None:
        raise SqueezeNetError("--int8 needs --calib-data DIR (unlabelled images)")
    from .onnx_export import max_logit_difference, example_input
    from .quantize import quantize_int8

    quantized = quantize_int8(to_onnx(loaded), loaded.preprocess, calib_data)
    report = {"max_logit_diff_random": max_logit_difference(loaded, quantized, example_input(loaded, batch=4, seed=1)), "int8": True}
    write_bytes(out, quantized)
    report["bytes"] = len(quantized)
    return report
