"""int8 static post-training quantization with ONNX Runtime's own tools.

Calibration takes unlabelled images preprocessed exactly as for inference. The defaults (QDQ,
per-channel weights, MinMax calibration, 7-bit weights where the CPU has no VNNI) are the
fastest of ``benchmarks/int8_options.py``'s within the accuracy budget.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..utils.device import has_vnni


@dataclass(frozen=True)
class Int8Options:
    quant_format: str = "QDQ"  # QDQ | QOperator
    per_channel: bool = True
    calibrate_method: str = "MinMax"  # MinMax | Entropy | Percentile
    reduce_range: bool = field(default_factory=lambda: not has_vnni())  # 7-bit weights avoid u8s8 overflow on AVX2
    max_images: int = 256


class _Reader(CalibrationDataReader):
    def __init__(self, images: torch.Tensor, input_name: str, batch: int = 1) -> None:
        # batch 1: histogram calibrators (Entropy, Percentile) need equal-shaped batches
        self._batches: Iterator[dict[str, np.ndarray]] = iter(
            [{input_name: images[i : i + batch].numpy()} for i in range(0, len(images), batch)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def quantize_int8(proto: onnx.ModelProto, images: torch.Tensor, options: Int8Options = Int8Options()) -> bytes:
    """int8 ONNX bytes calibrated on a preprocessed batch of images."""
    return static_int8(
        proto,
        images[: options.max_images],
        quant_format=QuantFormat.QDQ if options.quant_format == "QDQ" else QuantFormat.QOperator,
        per_channel=options.per_channel,
        reduce_range=options.reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=getattr(CalibrationMethod, options.calibrate_method),
    )


def static_int8(proto: onnx.ModelProto, images: torch.Tensor, **options: Any) -> bytes:
    """ONNX Runtime's pre-processing and ``quantize_static`` with ``options`` (none: the library's
    defaults, as the peer table runs them); our metadata carried over."""
    with tempfile.TemporaryDirectory() as tmp:
        fp32, prepped, int8 = (Path(tmp) / n for n in ("fp32.onnx", "prep.onnx", "int8.onnx"))
        onnx.save(proto, fp32)
        quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        quantize_static(str(prepped), str(int8), _Reader(images, proto.graph.input[0].name), **options)
        quantized = onnx.load(str(int8))
        onnx.helper.set_model_props(quantized, {p.key: p.value for p in proto.metadata_props})
        return quantized.SerializeToString()
