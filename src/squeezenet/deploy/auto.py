"""``export --format auto``: measure every engine on this machine, ship the fastest that is accurate enough.

What is fastest depends on the CPU (AVX2, AVX-512, VNNI, AMX), its thread count and the batch
size, so nothing here is assumed: each candidate graph is built, timed at the requested batch
size on this CPU, and checked on held-out calibration images (every fourth image; the int8
candidates calibrate on the rest). Calibration images carry no labels, so accuracy is measured
as top-1 agreement with the fp32 PyTorch model; the budget is the share of held-out images
whose top-1 may change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..data.images import calibration_tensor
from ..errors import OptionError
from ..formats.loaded import LoadedModel
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls
from .backends import BACKENDS, ENGINES
from .inputs import BuildInputs
from .onnx_export import example_input
from .options import MAX_DISAGREEMENT
from .runtime import Engine, build_engine

MIN_IMAGES = 8


@dataclass
class Candidate:
    backend: str
    images_per_s: float
    latency_ms: float  # per batch
    agreement: float  # % of held-out images with fp32 PyTorch's top-1


@dataclass
class EngineChoice:
    """The measurements behind ``chosen``, and every engine built on the way (to reuse, not rebuild)."""

    chosen: str
    reason: str
    batch_size: int
    isa: str
    candidates: list[Candidate]
    engines: dict[str, Engine] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "engines"} | {
            "candidates": [dataclasses.asdict(c) for c in self.candidates]
        }


def choose_engine(
    loaded: LoadedModel,
    calib_data: str | Path | torch.Tensor | None,
    batch_size: int = 1,
    max_disagreement: float = MAX_DISAGREEMENT,
    repeats: int = 30,
    pixels: bool = False,
) -> EngineChoice:
    """Every engine built and timed at ``batch_size``; the fastest within the budget is chosen.
    With ``pixels``, only the engines whose graph can take uint8 pixels, each timed so."""
    held_out, calib = _split(loaded, calib_data)
    with torch.no_grad():
        reference = loaded.model.eval()(held_out).argmax(1) if held_out is not None else None
    names = [
        n
        for n in ENGINES
        if BACKENDS[n].auto
        and (calib is not None or not BACKENDS[n].int8)
        and (not pixels or BACKENDS[n].pixel_graph is not None)
    ]
    batch = (held_out[:1] if held_out is not None else example_input(loaded)).repeat(batch_size, 1, 1, 1)
    inputs = BuildInputs(loaded, calib)
    engines, candidates = {}, []
    for name in names:
        engine = build_engine(loaded, name, inputs=inputs)
        if pixels:
            engine = engine.taking_pixels(loaded.preprocess)
        run = engine.runner()
        seconds = median(time_calls(partial(run, batch), repeats, warmup=5))
        agreement = 100.0 if reference is None else 100 * float((run(held_out).argmax(1) == reference).float().mean())
        engines[name] = engine
        candidates.append(Candidate(name, batch_size / seconds, 1000 * seconds, agreement))
    best, rejected = pick(candidates, max_disagreement)
    reason = (
        f"{best.backend}: fastest at batch {batch_size} on this CPU ({cpu_isa()}, {torch.get_num_threads()} threads) "
        f"among the engines within {max_disagreement:g}% top-1 disagreement with fp32 on "
        f"{0 if held_out is None else len(held_out)} held-out calibration images"
    )
    if pixels:
        reason += "; only the engines whose graph takes uint8 pixels"
    if rejected:
        reason += f"; over the budget: {', '.join(rejected)}"
    if calib is None:
        reason += "; int8 not tried (no calibration images)"
    return EngineChoice(best.backend, reason, batch_size, cpu_isa(), candidates, engines)


def pick(candidates: list[Candidate], max_disagreement: float) -> tuple[Candidate, list[str]]:
    """The fastest candidate within ``max_disagreement`` % top-1 disagreement, and the names over it."""
    allowed = [c for c in candidates if 100 - c.agreement <= max_disagreement]
    return max(allowed, key=lambda c: c.images_per_s), [c.backend for c in candidates if c not in allowed]


def _split(
    loaded: LoadedModel, calib_data: str | Path | torch.Tensor | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(held out: every fourth image, calibration: the rest); (None, None) without images."""
    if calib_data is None:
        return None, None
    images = calibration_tensor(calib_data, loaded.preprocess)
    if len(images) < MIN_IMAGES:
        raise OptionError(
            "calib_data", f"holds {len(images)} images: {{format}} auto needs at least {MIN_IMAGES}", "format"
        )
    held = torch.arange(len(images)) % 4 == 3
    return images[held], images[~held]
