"""``squeezenet export``: any engine's file, or whichever runs fastest here (``auto``), verified before writing.

Every graph goes the same way: built (``runtime.build_engine``), run through its own runtime
against PyTorch on random inputs and on calibration images when there are some (an fp32 graph
must agree within ``MAX_LOGIT_DIFF``; an int8 graph reports its difference), then written
atomically. ``auto`` first chooses the backend (``auto.choose_engine``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.images import calibration_tensor, image_files
from ..errors import OptionError, SqueezeNetError
from ..formats.loaded import LoadedModel
from .auto import EngineChoice, choose_engine
from .backends import for_format
from .inputs import BuildInputs
from .onnx_export import MAX_LOGIT_DIFF, example_input
from .options import AUTO, ExportOptions
from .precision import DEFAULT_FIXED_BITS
from .runtime import Engine, build_engine

REAL_CHECK_IMAGES = 64  # calibration images the written graph is also checked on


@dataclass
class ExportReport:
    file: str
    backend: str
    int8: bool
    bytes: int
    max_logit_diff_random: float
    max_logit_diff_real: float | None = None  # on calibration images, when given
    top1_agreement_real: float | None = None  # % of those images whose top-1 is PyTorch's
    auto: EngineChoice | None = None
    device: dict[str, Any] | None = None  # what the file costs on its device (TFLite Micro: flash, arena)
    pixels: bool = False  # the file takes uint8 pixels, normalised in its graph

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "auto"}
        return data | ({"auto": self.auto.to_dict()} if self.auto else {})


def export(loaded: LoadedModel, out: str | Path, options: ExportOptions) -> ExportReport:
    """Write ``loaded`` as ``options.format`` (fp32, or int8 calibrated on ``options.calib_data``),
    verified first. ``auto`` adds the chosen engine's suffix to ``out``."""
    options.check()
    options.check_out(out)
    out = Path(out)
    if options.calib_data is not None and not isinstance(options.calib_data, torch.Tensor):
        image_files(options.calib_data)  # an empty folder is refused now, not after the engine is built
    if options.format == AUTO:
        choice = choose_engine(
            loaded, options.calib_data, options.batch_size, options.max_disagreement, pixels=options.pixels
        )
        engine = choice.engines[choice.chosen]
        return dataclasses.replace(
            write_verified(loaded, engine, out.with_name(out.name + engine.backend.suffix), options.calib_data),
            auto=choice,
        )
    chosen = for_format(options.format, options.int8)
    if chosen.pools is not None and loaded.config.pool not in chosen.pools:
        raise OptionError(
            "format",
            f"{options.format} needs a model with {' or '.join(chosen.pools)} pools; this one has the paper's "
            f"{loaded.config.pool} (train the FPGA variant: squeezenet train --pool 2x2)",
        )
    inputs = BuildInputs(loaded, fixed_bits=options.fixed_bits or DEFAULT_FIXED_BITS)
    engine = build_engine(loaded, chosen.name, options.calib_data, inputs)
    return write_verified(
        loaded, engine.taking_pixels(loaded.preprocess) if options.pixels else engine, out, options.calib_data
    )


def write_verified(
    loaded: LoadedModel, engine: Engine, out: Path, calib_data: str | Path | torch.Tensor | None = None
) -> ExportReport:
    """Check ``engine`` against PyTorch, then write it."""
    run, reference = engine.runner(), loaded.model.eval()
    checks = {"random": example_input(loaded, batch=4, seed=1)}
    if calib_data is not None:
        checks["real"] = calibration_tensor(calib_data, loaded.preprocess, REAL_CHECK_IMAGES)
    diffs, agreement = {}, None
    with torch.no_grad():
        for name, x in checks.items():
            if engine.pixels_of is not None:  # the graph sees x as uint8 pixels: PyTorch gets those pixels
                x = engine.pixels_of.normalize_pixels(engine.pixels_of.denormalize(x))
            got, want = run(x), reference(x)
            diffs[name] = float((got - want).abs().max())
            if name == "real":
                agreement = 100.0 * float((got.argmax(1) == want.argmax(1)).float().mean())
    worst = max(diffs.values())
    if not engine.backend.calibrated and worst >= MAX_LOGIT_DIFF:
        raise SqueezeNetError(
            f"{engine.backend.name} disagrees with PyTorch (max logit difference {worst:.2e}); not written"
        )
    device = engine.backend.describe(engine.graph) if engine.backend.describe else None
    written = engine.save(out)
    return ExportReport(
        str(out),
        engine.backend.name,
        engine.backend.int8,
        written,
        diffs["random"],
        diffs.get("real"),
        agreement,
        device=device,
        pixels=engine.pixels_of is not None,
    )
