"""The options of ``export`` as data, checked in one place (no heavy imports: the CLI checks them first)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError
from ..utils.atomic import check_replaceable
from .backends import FORMATS, INT8_ONLY, NO_INT8, PROFILED, for_format
from .metadata import FOLDER_METADATA
from .precision import FIXED_BITS_RANGE

AUTO = "auto"  # measure every engine here, write the fastest within the accuracy budget
EXPORT_FORMATS = (*FORMATS, AUTO)
MAX_DISAGREEMENT = 5.0  # % of held-out images whose top-1 may differ from fp32 PyTorch's


@dataclass
class ExportOptions:
    format: str = "onnx"
    int8: bool = False  # static int8, calibrated on calib_data
    calib_data: str | Path | None = None  # unlabelled images (auto: also its accuracy check)
    batch_size: int = 1  # auto: the batch size to be fastest at
    max_disagreement: float = MAX_DISAGREEMENT  # auto: % of held-out images whose top-1 may change
    fixed_bits: int | None = None  # hls4ml: each fixed-point number's width (None: DEFAULT_FIXED_BITS)

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
        lo, hi = FIXED_BITS_RANGE
        if self.fixed_bits is not None and self.format not in PROFILED:
            raise OptionError(
                "fixed_bits", f"sets the width of {', '.join(PROFILED)}'s fixed point: only with {{format}}", "format"
            )
        if self.fixed_bits is not None and not lo <= self.fixed_bits <= hi:
            raise OptionError("fixed_bits", f"must be in [{lo}, {hi}], got {self.fixed_bits}")
        if self.int8 and self.calib_data is None:
            raise OptionError("int8", "calibrates on images: it needs {calib_data} (unlabelled images)", "calib_data")
        if self.batch_size < 1:
            raise OptionError("batch_size", f"must be at least 1, got {self.batch_size}")
        if not (math.isfinite(self.max_disagreement) and 0 <= self.max_disagreement <= 100):
            raise OptionError("max_disagreement", f"is a percentage (0-100), got {self.max_disagreement}")

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
