"""``squeezenet export``: ONNX, OpenVINO IR, or whichever runs fastest here (``auto``), verified before writing.

Every graph is checked against PyTorch on random inputs before it is written (fp32 graphs
within ``MAX_LOGIT_DIFF``; int8 graphs report their difference), and files land atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from .auto import MAX_DISAGREEMENT, choose_engine
from .onnx_export import MAX_LOGIT_DIFF, example_input, export_onnx
from .runtime import SUFFIX, Engine, build_engine

FORMATS = ("onnx", "openvino", "auto")
_ENGINE = {"onnx": "onnxruntime", "openvino": "openvino"}  # format -> the engine family that runs it


def export(
    loaded: LoadedModel, out: str | Path, format: str = "onnx", int8: bool = False,  # noqa: A002 - the CLI's word
    calib_data: str | Path | torch.Tensor | None = None, batch_size: int = 1, max_disagreement: float = MAX_DISAGREEMENT,
) -> dict[str, Any]:  # fmt: skip
    """Write ``loaded`` as ``format`` (fp32, or int8 calibrated on ``calib_data``), verified first.
    ``auto`` writes ``out`` with the chosen engine's suffix (``.onnx`` or ``.xml`` + ``.bin``)."""
    if format not in FORMATS:
        raise SqueezeNetError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
    if format == "auto":
        if int8:
            raise SqueezeNetError("--format auto tries int8 itself (with --calib-data); leave out --int8")
        return export_auto(loaded, out, calib_data, batch_size, max_disagreement)[0]
    backend = _ENGINE[format] + ("-int8" if int8 else "")
    suffix = SUFFIX[_ENGINE[format]]
    if Path(out).suffix.lower() != suffix:
        raise SqueezeNetError(f"{out}: the output of --format {format} must end in {suffix}")
    if int8 and calib_data is None:
        raise SqueezeNetError("--int8 needs --calib-data DIR (unlabelled images)")
    if backend == "onnxruntime":
        return {**export_onnx(loaded, out), "file": str(out), "backend": backend}
    return _write(loaded, build_engine(loaded, backend, calib_data), Path(out))


def export_auto(
    loaded: LoadedModel, out: str | Path, calib_data: str | Path | torch.Tensor | None, batch_size: int = 1,
    max_disagreement: float = MAX_DISAGREEMENT,
) -> tuple[dict[str, Any], dict[str, Engine]]:  # fmt: skip
    """``--format auto``: what was written, and every engine measured on the way (to reuse, not rebuild)."""
    engines, choice = choose_engine(loaded, calib_data, batch_size, max_disagreement)
    engine = engines[choice["chosen"]]
    return {**_write(loaded, engine, Path(out).with_suffix(engine.suffix)), "auto": choice}, engines


def _write(loaded: LoadedModel, engine: Engine, out: Path) -> dict[str, Any]:
    """Verify ``engine`` against PyTorch, then write it."""
    inputs = example_input(loaded, batch=4, seed=1)
    with torch.no_grad():
        reference = loaded.model.eval()(inputs)
    diff = float((engine.runner()(inputs) - reference).abs().max())
    int8 = engine.backend.endswith("-int8")
    if not int8 and diff >= MAX_LOGIT_DIFF:
        raise SqueezeNetError(f"{engine.backend} disagrees with PyTorch (max logit difference {diff:.2e}); not written")
    return {"file": str(out), "backend": engine.backend, "int8": int8, "max_logit_diff_random": diff, "bytes": engine.save(out)}
