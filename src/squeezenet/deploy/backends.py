"""Every inference backend, once: one record each, and everything else derived from the table.

A backend builds a graph from a loaded model (``build``), runs it (``run``: a batch of
preprocessed float images to logits; where the engine can, ``pixel_graph`` compiles the
normalisation into the graph, which then takes uint8 pixels, and ``pixel_run`` runs that), and,
when it has a file to ship (``suffix``), writes and reads that file. eval, predict, bench,
``export`` and ``export --format auto`` choose among these records by name; the CLI's choices
are the names. A record names its runtime module's functions (``lazy("openvino:ov_runner",
precision="f32")``), imported when a backend is first used, so reading the table loads no
runtime. The table lists the engines a user can run or ship: ours, and the host runtimes' own
defaults, which ``export --format auto`` times beside ours so it never ships something slower
than a library's defaults; the device runtimes' default quantizers, which only the peer
benchmark runs, live beside it (``speed/peers.py``).

To add a backend: its functions in its runtime module, and a record here.
"""

from __future__ import annotations

import importlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SqueezeNetError
from ..utils.seal import read_sealed, write_sealed
from .inputs import BuildInputs
from .metadata import Runner

if TYPE_CHECKING:
    from ..formats.preprocess import Preprocess


@dataclass(frozen=True, kw_only=True)
class Backend:
    name: str
    help: str
    format: str | None = None  # the ``export --format`` that writes it; None: runs only
    int8: bool = False  # calibrated on images
    suffix: str | None = None  # the file written; None: nothing to ship
    build: Callable[[BuildInputs], Any]
    run: Callable[[Any], Runner]
    # the graph taking uint8 N x C x H x W pixels, mean and std its first steps; None: normalised on the host
    pixel_graph: Callable[[Any, Preprocess], Any] | None = None
    pixel_run: Callable[[Any], Runner] | None = None  # logits of uint8 pixels, for such a graph
    write: Callable[[Any, Path], int] | None = None  # bytes written
    read: Callable[[Path], Any] | None = None
    metadata: Callable[[Any], dict[str, str]] | None = None  # what a graph carries (config, preprocessing, classes)
    needs: str | None = None  # the module its runtime comes in (an optional extra)
    auto: bool = True  # a candidate of ``export --format auto`` (the host engines; not the device runtimes)
    timed: bool = True  # a row of the peer table (not an emulated device interpreter)
    recipe: str = "ours"  # ours: tuned here; defaults: the library's own, as its documentation sets it up
    describe: Callable[[Any], dict[str, Any]] | None = None  # what the file costs on its device (export's report)
    profiled: bool = False  # fixed point whose formats come from profiling calibration images (hls4ml)
    folder: bool = False  # what it writes is a folder (an HLS project), named with ``suffix``
    pools: tuple[str, ...] | None = None  # the max-pool geometries it can build (None: any)

    @property
    def calibrated(self) -> bool:
        """Built from calibration images (int8 scales, or profiled fixed-point formats): lossy."""
        return self.int8 or self.profiled

    def available(self) -> bool:
        """Whether this installation has the backend's runtime (``needs``)."""
        import importlib.util

        return self.needs is None or importlib.util.find_spec(self.needs) is not None


def lazy(target: str, **bound: Any) -> Callable[..., Any]:
    """``"module:function"`` of this package's deploy layer, imported at its first call and
    called with ``bound`` keywords too: the table names every runtime's functions without
    importing a runtime (the CLI reads it for its choices)."""
    module, _, name = target.partition(":")

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(*args, **bound)

    call.__qualname__ = call.__name__ = target
    return call


def ov_build(name: str, **options: Any) -> dict[str, Any]:
    """An OpenVINO record's build, named ``name``: NNCF int8 with ``options`` where it has
    ``int8``, else the fp32 graph (``graph="qdq"``: ONNX Runtime's int8 graph)."""
    if options.pop("int8", False):
        return {"build": lazy("openvino:build_int8", name=name, **options), "int8": True}
    return {"build": lazy("openvino:build", name=name, **options)}


ORT = {
    "format": "onnx",
    "suffix": ".onnx",
    "run": lazy("ort:graph_runner"),
    "pixel_graph": lazy("onnx_export:with_pixel_input"),
    "pixel_run": lazy("ort:pixel_runner"),
    "write": write_sealed,
    "read": read_sealed,
    "metadata": lazy("onnx_export:graph_metadata"),
}
OV = {
    "format": "openvino",
    "suffix": ".xml",
    "run": lazy("openvino:ov_runner", precision=None),
    "pixel_graph": lazy("openvino:with_pixel_input"),
    "pixel_run": lazy("openvino:pixel_runner", precision=None),
    "write": lazy("openvino:save_ir"),
    "read": lazy("openvino:read_ir"),
    "metadata": lazy("openvino:metadata"),
}
OV_DEFAULTS = {**OV, "run": lazy("openvino:default_runner"), "pixel_graph": None, "pixel_run": None}
# batch-1 graphs for devices: timed in the peer table, never chosen by ``auto`` for this host
LITERT = {
    "format": "litert",
    "suffix": ".tflite",
    "run": lazy("litert:litert_runner"),
    "write": write_sealed,
    "read": lazy("micro:read_micro"),  # either .tflite: a TFLite Micro header beside it must match
    "metadata": lazy("litert:read_metadata"),
    "needs": "litert_torch",
    "auto": False,
}
EXECUTORCH = {
    "format": "executorch",
    "suffix": ".pte",
    "run": lazy("pte:pte_runner"),
    "write": write_sealed,
    "read": read_sealed,
    "metadata": lazy("pte:read_metadata"),
    "needs": "executorch",
    "auto": False,
}
# The first record of each (format, int8) pair is what ``export --format F [--int8]`` writes;
# ``export --format auto`` times them all on the CPU in front of it.
TABLE = (
    Backend(
        name="torch",
        help="PyTorch eager, fp32",
        build=lazy("eager:module"),
        run=lazy("eager:runner"),
        recipe="defaults",
    ),
    Backend(
        name="torch-compile",
        help="torch.compile (Inductor), fp32",
        build=lazy("eager:compiled"),
        run=lazy("eager:runner"),
        recipe="defaults",
    ),
    Backend(name="onnxruntime", help="ONNX Runtime, fp32", build=lazy("ort:fp32_graph"), **ORT),
    Backend(
        name="onnxruntime-int8",
        int8=True,
        help="ONNX Runtime, static int8 (QDQ, per-channel weights)",
        build=lazy("ort:int8_graph"),
        **ORT,
    ),
    Backend(
        name="onnxruntime-int8-defaults",
        int8=True,
        help="ONNX Runtime int8, quantize_static's defaults",
        recipe="defaults",
        **{**ORT, "build": lazy("ort:int8_graph", name="onnxruntime-int8-defaults", defaults=True)},
    ),
    # fp32 pinned to f32: left alone, the plugin runs bf16 where the CPU has it
    Backend(
        name="openvino",
        help="OpenVINO CPU plugin, fp32",
        **{
            **OV,
            **ov_build("openvino"),
            "run": lazy("openvino:ov_runner", precision="f32"),
            "pixel_run": lazy("openvino:pixel_runner", precision="f32"),
        },
    ),
    Backend(
        name="openvino-bf16",
        help="OpenVINO at the plugin's precision: bf16 where the CPU has it",
        **OV,
        **ov_build("openvino-bf16"),
    ),
    Backend(
        name="openvino-defaults",
        help="OpenVINO's defaults (compile_model(model, 'CPU'))",
        recipe="defaults",
        **OV_DEFAULTS,
        **ov_build("openvino-defaults"),
    ),
    # int8 leaves the float layers around the int8 convolutions to the plugin (bf16 where native)
    Backend(
        name="openvino-int8", help="OpenVINO, int8 by NNCF (MIXED preset)", **OV, **ov_build("openvino-int8", int8=True)
    ),
    Backend(
        name="openvino-int8-sym",
        help="OpenVINO, int8 by NNCF with symmetric activations",
        **OV,
        **ov_build("openvino-int8-sym", int8=True, symmetric=True),
    ),
    Backend(
        name="openvino-int8-float-first",
        help="OpenVINO, int8 by NNCF with the first convolution in float (no overflow fix)",
        **OV,
        **ov_build("openvino-int8-float-first", int8=True, float_first=True),
    ),
    Backend(
        name="openvino-int8-fused",
        help="OpenVINO, int8 by NNCF of the fused-expand graph",
        **OV,
        **ov_build("openvino-int8-fused", int8=True, fused=True),
    ),
    Backend(
        name="openvino-int8-defaults",
        help="OpenVINO and NNCF with their defaults",
        recipe="defaults",
        **OV_DEFAULTS,
        **ov_build("openvino-int8-defaults", int8=True, defaults=True),
    ),
    Backend(
        name="openvino-qdq-defaults",
        int8=True,
        help="OpenVINO's defaults running ONNX Runtime's int8 (QDQ) graph",
        recipe="defaults",
        **OV_DEFAULTS,
        **ov_build("openvino-qdq-defaults", graph="qdq"),
    ),
    Backend(
        name="litert", help="LiteRT (TFLite), fp32, NHWC input", build=lazy("litert:build", name="litert"), **LITERT
    ),
    Backend(
        name="litert-int8",
        int8=True,
        help="LiteRT, full int8 (int8 NHWC input and output) by PT2E, our recipe (deploy/pt2e.py)",
        build=lazy("litert:build", name="litert-int8", int8=True),
        **LITERT,
    ),
    Backend(
        name="tflite-micro",
        format="tflite-micro",
        int8=True,
        suffix=".tflite",
        help="TFLite Micro: the full-int8 .tflite and a C header (model array, arena size)",
        build=lazy("micro:build"),
        run=lazy("micro:micro_runner"),
        write=lazy("micro:write_micro"),
        read=lazy("micro:read_micro"),
        metadata=lazy("litert:read_metadata"),
        needs="tflite_micro",
        auto=False,
        timed=False,
        describe=lazy("micro:describe"),
    ),
    Backend(
        name="executorch",
        help="ExecuTorch, fp32, lowered to XNNPACK",
        build=lazy("pte:build", name="executorch"),
        **EXECUTORCH,
    ),
    Backend(
        name="executorch-int8",
        int8=True,
        help="ExecuTorch int8 (XNNPACK) by PT2E, our recipe (deploy/pt2e.py)",
        build=lazy("pte:build", name="executorch-int8", int8=True),
        **EXECUTORCH,
    ),
    Backend(
        name="hls4ml",
        format="hls4ml",
        suffix=".hls4ml",
        help="hls4ml (experimental): an FPGA's HLS project (a folder), profiled fixed point, checked by C simulation",
        build=lazy("hls:build"),
        run=lazy("hls:hls_runner"),
        write=lazy("hls:write_project"),
        read=lazy("hls:read_project"),
        metadata=operator.attrgetter("metadata"),
        needs="hls4ml",
        auto=False,
        timed=False,
        describe=lazy("hls:describe"),
        profiled=True,
        folder=True,
        pools=("2x2",),  # io_stream pools non-overlapping windows only (deploy/hls.py)
    ),
)
BACKENDS: dict[str, Backend] = {b.name: b for b in TABLE}
ENGINES = tuple(b.name for b in TABLE if b.suffix)  # those with a file to ship
SHIPPED_SUFFIXES = tuple(dict.fromkeys(b.suffix for b in TABLE if b.suffix))  # what eval, predict and bench run
FOLDER_SUFFIXES = tuple(dict.fromkeys(b.suffix for b in TABLE if b.folder))  # of those, the folders
FORMATS = tuple(dict.fromkeys(b.format for b in TABLE if b.format))  # export formats, table order
INT8_ONLY = tuple(f for f in FORMATS if all(b.int8 for b in TABLE if b.format == f))  # e.g. tflite-micro
NO_INT8 = tuple(f for f in FORMATS if not any(b.int8 for b in TABLE if b.format == f))  # hls4ml: its own fixed point
PIXEL_FORMATS = tuple(  # export --pixels: the graph takes uint8 pixels
    f for f in FORMATS if all(b.pixel_graph for b in TABLE if b.format == f and b.recipe == "ours")
)
PROFILED = tuple(f for f in FORMATS if any(b.profiled for b in TABLE if b.format == f))  # need calibration images


def backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise SqueezeNetError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BACKENDS[name]


def for_format(format: str, int8: bool) -> Backend:
    """The backend ``export --format FORMAT [--int8]`` writes."""
    found = [b for b in TABLE if b.format == format and b.int8 == int8]
    if not found:
        raise SqueezeNetError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
    return found[0]


def for_suffix(suffix: str) -> list[Backend]:
    """The backends whose files end in ``suffix`` (the file's metadata says which wrote it)."""
    return [b for b in TABLE if b.suffix == suffix.lower()]
