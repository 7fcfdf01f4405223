"""TFLite Micro: the int8 ``.tflite`` as a microcontroller build takes it, checked on TFLM's own interpreter.

A firmware links the model as a byte array in flash and gives the interpreter one static arena in
RAM. ``export --format tflite-micro`` writes the ``.tflite`` and, beside it, a C header with the
array, its length and the arena size; the size is what TFLM's recording allocator measures for
this file (its activation part is the planner's int8 peak, ``deploy/footprint.py``), and the file
is run under exactly that arena before anything is written. TFLM's host interpreter runs the same
reference kernels as the firmware.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import SqueezeNetError
from ..utils.atomic import write_bytes, write_text
from ..utils.native import captured_fd
from ..utils.seal import recorded, seal, verify
from .litert import dequantize_output, quantize_input
from .metadata import Runner

if TYPE_CHECKING:
    from .inputs import BuildInputs

ARENA_ALIGNMENT = 16  # TFLM aligns the arena's start; a firmware's buffer gets this much slack
# The microcontroller class a report measures against: 1 MiB of flash and 256 KiB of RAM (a
# Cortex-M4/M7 part such as an STM32F4 or nRF52840's class).
MCU_FLASH, MCU_RAM = 1024 * 1024, 256 * 1024


@dataclass
class MicroFootprint:
    """What the file costs on a microcontroller, measured by TFLM, beside the planner's figure."""

    flash_bytes: int  # the .tflite array
    arena_bytes: int  # the tensor arena the header declares (measured, plus alignment slack)
    activation_bytes: int  # the arena's non-persistent part: tensors live during one inference
    persistent_bytes: int  # the arena's persistent part: kernel state, tensor structs
    planned_activation_bytes: int | None = None  # footprint planner, int8
    budget_flash_bytes: int = MCU_FLASH
    budget_ram_bytes: int = MCU_RAM

    @property
    def fits(self) -> bool:
        return self.flash_bytes <= self.budget_flash_bytes and self.arena_bytes <= self.budget_ram_bytes

    def to_dict(self) -> dict:
        return {**asdict(self), "fits": self.fits}


def _interpreter(tflite: bytes, arena: int) -> Any:
    from tflite_micro.python.tflite_micro import runtime

    with captured_fd(2) as errors:
        try:
            return runtime.Interpreter.from_bytes(tflite, arena_size=arena)
        except RuntimeError:
            pass
    raise SqueezeNetError(f"TFLite Micro cannot run the file: {' '.join(errors)[:200] or 'no reason given'}")


def measure(tflite: bytes, planned_activation_bytes: int | None = None) -> MicroFootprint:
    """The arena TFLM needs for ``tflite`` (its recording allocator), then one inference under it."""
    return dataclasses.replace(_measured(tflite), planned_activation_bytes=planned_activation_bytes)


@functools.lru_cache(maxsize=4)
def _measured(tflite: bytes) -> MicroFootprint:
    """Once per file: export's report, its header and its check all ask (an inference on TFLM's
    reference kernels at 224 px takes seconds)."""
    probe = _interpreter(tflite, max(4 * len(tflite), 8 * 1024 * 1024))
    with captured_fd(2) as lines:  # TFLM prints its report on stderr
        probe.print_allocations()
    found = {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", "\n".join(lines))}
    if set(found) != {"total", "head", "tail"}:
        raise SqueezeNetError("TFLite Micro reported no arena allocation for this file")
    arena = -(-found["total"] // ARENA_ALIGNMENT) * ARENA_ALIGNMENT + ARENA_ALIGNMENT
    engine = _interpreter(tflite, arena)  # the header's arena must hold the model: run once under it
    detail = engine.get_input_details(0)
    engine.set_input(np.zeros(detail["shape"], dtype=detail["dtype"]), 0)
    engine.invoke()
    return MicroFootprint(len(tflite), arena, found["head"], found["tail"])


def micro_runner(tflite: bytes) -> Runner:
    """Logits for an N x C x H x W float batch on TFLM's interpreter, one image at a time."""
    engine = _interpreter(tflite, measure(tflite).arena_bytes)
    source, sink = engine.get_input_details(0), engine.get_output_details(0)
    for detail in (source, sink):  # TFLM names them apart from LiteRT; one quantize/dequantize for both
        params = detail["quantization_parameters"]
        detail["quantization"] = (float(params["scales"][0]), int(params["zero_points"][0]))

    def run(x: torch.Tensor) -> torch.Tensor:
        out = []
        for image in x.permute(0, 2, 3, 1).numpy():
            engine.set_input(quantize_input(image[None], source), 0)
            engine.invoke()
            out.append(dequantize_output(engine.get_output(0), sink))
        return torch.from_numpy(np.concatenate(out))

    return run


HEADER_MARK = "written by squeezenet export"


def c_header(tflite: bytes, name: str, arena_bytes: int) -> str:
    """A C/C++ header holding the model (16-byte aligned, as TFLM reads it in place) and its arena size."""
    symbol = re.sub(r"\W", "_", name)
    rows = (", ".join(f"0x{b:02x}" for b in tflite[i : i + 16]) for i in range(0, len(tflite), 16))
    body = ",\n  ".join(rows)
    guard = f"{symbol.upper()}_H_"
    digest = recorded(tflite)
    return (
        f"// {name}: int8 SqueezeNet for TensorFlow Lite Micro, {HEADER_MARK}.\n"
        f"// Give MicroInterpreter a tensor arena of {symbol.upper()}_ARENA_SIZE bytes (measured by\n"
        f"// TFLM's recording allocator for this file, {ARENA_ALIGNMENT} bytes of alignment slack included).\n"
        + (f"// {digest}\n" if digest else "")
        + f"#ifndef {guard}\n#define {guard}\n\n"
        f"#define {symbol.upper()}_ARENA_SIZE {arena_bytes}\n\n"
        f"alignas(16) const unsigned char {symbol}_tflite[] = {{\n  {body}\n}};\n"
        f"const unsigned int {symbol}_tflite_len = {len(tflite)};\n\n#endif  // {guard}\n"
    )


def write_micro(tflite: bytes, out: Path) -> int:
    """``out`` (.tflite) and ``out`` .h beside it, each atomically, the header first; bytes of both.

    Two files cannot be renamed in one step, so the header names the digest of the ``.tflite`` it
    was written with (``utils.seal``), and ``read_micro`` refuses a pair that a killed export left
    mismatched; the next export replaces both."""
    tflite = seal(tflite)
    header = c_header(tflite, out.stem, measure(tflite).arena_bytes)
    write_text(out.with_suffix(".h"), header)
    write_bytes(out, tflite)
    return len(tflite) + len(header.encode())


def read_micro(path: Path) -> bytes:
    """A TFLite Micro ``.tflite``, its digest checked, and the header beside it (when there is one)
    checked to hold the same file."""
    data = path.read_bytes()
    verify(data, str(path))
    header = path.with_suffix(".h")
    digest = recorded(data)
    text = header.read_text(errors="replace") if header.is_file() else ""
    if digest and HEADER_MARK in text and f"// {digest}\n" not in text:
        raise SqueezeNetError(
            f"{header}: holds another model than {path.name} (an export was interrupted); export both again"
        )
    return data


def build(inputs: BuildInputs) -> bytes:
    """litert-int8's file (built once per build inputs), tagged for TFLite Micro."""
    from .litert import build as litert_build
    from .litert import read_metadata, with_metadata
    from .metadata import META_BACKEND

    graph = litert_build(inputs, "litert-int8", int8=True)
    return with_metadata(graph, {**read_metadata(graph), META_BACKEND: "tflite-micro"})


def describe(graph: bytes) -> dict[str, Any]:
    """What the file costs on a microcontroller: flash and the arena TFLM measured, beside the planner's peak."""
    from ..formats.preprocess import Preprocess
    from ..models.config import SqueezeNetConfig
    from ..models.squeezenet import SqueezeNet
    from .footprint import peak_activations
    from .litert import read_metadata
    from .metadata import META_CONFIG, META_PREPROCESS

    meta = read_metadata(graph)
    model = SqueezeNet(SqueezeNetConfig.from_json(meta[META_CONFIG]))
    planned, _ = peak_activations(model, Preprocess.from_json(meta[META_PREPROCESS]).crop, 1)
    return measure(graph, planned).to_dict()
