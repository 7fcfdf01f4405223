"""``export --format auto``: measure every engine on this machine, ship the fastest that is accurate enough.

What is fastest depends on the CPU (AVX2, AVX-512, VNNI, AMX), its thread count and the batch
size, so nothing here is assumed: each candidate graph is built, timed at the requested batch
size on this CPU, and checked on held-out calibration images (every fourth image; the int8
candidates calibrate on the rest). Calibration images carry no labels, so accuracy is measured
as top-1 agreement with the fp32 PyTorch model; the budget is the share of held-out images
whose top-1 may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls
from .onnx_export import example_input, to_onnx
from .quantize import calibration_images
from .runtime import ENGINES, INT8_BACKENDS, Engine, build_engine

MAX_DISAGREEMENT = 5.0  # % of held-out images whose top-1 may differ from fp32 PyTorch's


@dataclass
class Candidate:
    backend: str
    images_per_s: float
    latency_ms: float
    agreement: float  # % of held-out images with fp32 PyTorch's top-1

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "images_per_s": self.images_per_s, "latency_ms": self.latency_ms, "agreement": self.agreement}


def choose_engine(
    loaded: LoadedModel, calib_data: str | Path | torch.Tensor | None, batch_size: int = 1,
    max_disagreement: float = MAX_DISAGREEMENT, repeats: int = 30,
) -> tuple[dict[str, Engine], dict[str, Any]]:  # fmt: skip
    """Every engine built (by backend) and the measurements behind the choice: ``choice["chosen"]``
    is the fastest at ``batch_size`` within the budget."""
    proto = to_onnx(loaded)
    held_out, calib = _split(loaded, calib_data)
    with torch.no_grad():
        reference = loaded.model.eval()(held_out).argmax(1) if held_out is not None else None
    backends = [b for b in ENGINES if calib is not None or b not in INT8_BACKENDS]
    batch = (held_out[:1] if held_out is not None else example_input(loaded)).repeat(batch_size, 1, 1, 1)
    engines, candidates = {}, []
    for backend in backends:
        engine = build_engine(loaded, backend, calib, proto)
        run = engine.runner()
        seconds = median(time_calls(lambda: run(batch), repeats, warmup=5))
        agreement = 100.0 if reference is None else 100 * float((run(held_out).argmax(1) == reference).float().mean())
        engines[backend] = engine
        candidates.append(Candidate(backend, batch_size / seconds, 1000 * seconds, agreement))
    allowed = [c for c in candidates if 100 - c.agreement <= max_disagreement]
    best = max(allowed, key=lambda c: c.images_per_s)
    reason = (f"{best.backend}: fastest at batch {batch_size} on this CPU ({cpu_isa()}, {torch.get_num_threads()} threads) "
              f"among the engines within {max_disagreement:g}% top-1 disagreement with fp32 on "
              f"{0 if held_out is None else len(held_out)} held-out calibration images")  # fmt: skip
    rejected = [c.backend for c in candidates if c not in allowed]
    if rejected:
        reason += f"; over the budget: {', '.join(rejected)}"
    if calib is None:
        reason += "; int8 not tried (no --calib-data)"
    return engines, {"chosen": best.backend, "reason": reason, "batch_size": batch_size,
                     "isa": cpu_isa(), "candidates": [c.to_dict() for c in candidates]}  # fmt: skip


def _split(loaded: LoadedModel, calib_data: str | Path | torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(held out: every fourth image, calibration: the rest); (None, None) without images."""
    if calib_data is None:
        return None, None
    images = calibration_images(calib_data, loaded.preprocess)
    if len(images) < 8:
        raise SqueezeNetError(f"--format auto needs at least 8 calibration images, got {len(images)}")
    held = torch.arange(len(images)) % 4 == 3
    return images[held], images[~held]
