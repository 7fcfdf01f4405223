"""The options of ``export`` as data, checked in one place (no heavy imports: the CLI checks them first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError
from ..utils.atomic import check_replaceable
from ..utils.options import MAX_BATCH, check_ranges, option
from .backends import FORMATS, INT8_ONLY, NO_INT8, PIXEL_FORMATS, PROFILED, for_format
from .metadata import FOLDER_METADATA
from .precision import DEFAULT_FIXED_BITS, FIXED_BITS_RANGE

AUTO = "auto"  # measure every engine here, write the fastest within the accuracy budget
EXPORT_FORMATS = (*FORMATS, AUTO)
MAX_DISAGREEMENT = 5.0  # % of held-out images whose top-1 may differ from fp32 PyTorch's


@dataclass
class ExportOptions:
    format: str = option(
        "onnx",
        "onnx (.onnx), openvino (IR .xml + .bin), litert (.tflite, NHWC), tflite-micro (int8 .tflite + C "
        "header with the arena size), executorch (.pte, XNNPACK), hls4ml (experimental: a .hls4ml project folder "
        "for Vivado/Vitis HLS, fixed point profiled on --calib-data, checked by C simulation; needs the --pool 2x2 "
        "variant), or auto: time every host engine on this CPU and write the fastest within --max-disagreement",
        choices=EXPORT_FORMATS,
    )
    int8: bool = option(
        False,
        "static int8 (needs --calib-data): ONNX Runtime's quantizer for onnx, NNCF for openvino, PT2E with "
        "the runtime's own quantizer for litert, tflite-micro and executorch",
    )
    calib_data: str | Path | None = option(
        None, "unlabelled images for int8 calibration (auto: also its accuracy check)", kind="dir"
    )
    batch_size: int = option(1, "auto: the batch size to be fastest at", low=1, high=MAX_BATCH)
    max_disagreement: float = option(
        MAX_DISAGREEMENT, "auto: %% of held-out calibration images whose top-1 may differ from fp32", low=0, high=100
    )
    fixed_bits: int | None = option(
        None,
        f"hls4ml: the width of every fixed-point number, its integer bits profiled (default {DEFAULT_FIXED_BITS})",
        low=FIXED_BITS_RANGE[0],
        high=FIXED_BITS_RANGE[1],
    )

    pixels: bool = option(
        False,
        "the file takes uint8 pixels (N x C x crop x crop, decoded and resized) and normalises them in its graph "
        "(onnx, openvino; auto chooses among the engines that can); its metadata says so",
    )

    def check(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise OptionError("format", f"must be one of {', '.join(EXPORT_FORMATS)}, got {self.format!r}")
        if self.format == AUTO and self.int8:
            raise OptionError(
                "int8", "is tried by {format} auto itself (with {calib_data}): leave it out", "format", "calib_data"
            )
        if self.format in INT8_ONLY and not self.int8:
            raise OptionError(
                "format", f"{self.format} is int8 only: add {{int8}} and {{calib_data}}", "int8", "calib_data"
            )
        if self.format in NO_INT8 and self.int8:
            raise OptionError("int8", f"{self.format} writes its own fixed point, not int8: leave it out", "format")
        if self.format in PROFILED and self.calib_data is None:
            raise OptionError(
                "format",
                f"{self.format} profiles its fixed-point formats on images: it needs {{calib_data}}",
                "calib_data",
            )
        check_ranges(self)
        if self.fixed_bits is not None and self.format not in PROFILED:
            raise OptionError(
                "fixed_bits", f"sets the width of {', '.join(PROFILED)}'s fixed point: only with {{format}}", "format"
            )
        if self.pixels and self.format not in (*PIXEL_FORMATS, AUTO):
            raise OptionError(
                "pixels", f"is written by {', '.join(PIXEL_FORMATS)} (or auto): choose one with {{format}}", "format"
            )
        if self.int8 and self.calib_data is None:
            raise OptionError("int8", "calibrates on images: it needs {calib_data} (unlabelled images)", "calib_data")

    def check_out(self, out: str | Path) -> None:
        """What ``out`` must be for this format, checked before any work: no suffix for ``auto`` (the
        chosen engine's is added), else the format's own; a folder to replace must be one we wrote."""
        out = Path(out)
        if self.format == AUTO:
            if out.suffix:
                raise OptionError(
                    "out",
                    f"{out}: {{format}} auto chooses the file type; "
                    f"give it without a suffix (e.g. {out.with_suffix('')})",
                    "format",
                )
            return
        chosen = for_format(self.format, self.int8)
        if out.suffix.lower() != chosen.suffix:
            raise OptionError("out", f"{out}: the file of {{format}} {self.format} ends in {chosen.suffix}", "format")
        if chosen.folder:
            check_replaceable(out, FOLDER_METADATA)
        elif out.is_dir():
            raise OptionError("out", f"{out}: is a directory; a file name is needed")
