"""Every inference backend, once: one record each, and everything else derived from the table.

A backend builds a graph from a loaded model (``build``), runs it (``run``: a batch of
preprocessed float images to logits; ``pixels``, where the engine can: uint8 pixels to logits,
the normalisation compiled into its graph), and, when it has a file to ship (``suffix``), writes and
reads that file. eval, predict, bench, ``export`` and ``export --format auto`` choose among these
records by name; the CLI's choices are the names. The heavy runtimes are imported inside the
functions, only when a backend is used, so reading the table costs nothing.

To add a backend: a record here (and its functions beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SqueezeNetError
from .metadata import META_BACKEND, Runner
from .precision import DEFAULT_FIXED_BITS

if TYPE_CHECKING:
    import onnx
    import torch

    from ..formats.loaded import LoadedModel
    from ..formats.preprocess import Preprocess


@dataclass
class BuildInputs:
    """What a backend builds from: the model, preprocessed calibration images (int8), the device,
    and the model's ONNX export, made on first use and shared by every backend that needs it."""

    loaded: LoadedModel
    calib: torch.Tensor | None = None
    device: Any = None  # torch.device; the CPU when None
    fixed_bits: int = DEFAULT_FIXED_BITS  # hls4ml: each fixed-point number's width (the integer part is profiled)
    onnx_proto: onnx.ModelProto | None = field(default=None, repr=False)

    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # graphs several recipes start from

    def proto(self) -> onnx.ModelProto:
        if self.onnx_proto is None:
            from .onnx_export import to_onnx

            self.onnx_proto = to_onnx(self.loaded)
        return self.onnx_proto

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]


@dataclass(frozen=True)
class Backend:
    name: str
    family: str  # the runtime: torch, onnxruntime, openvino, litert, executorch, tflite-micro
    format: str | None  # the ``export --format`` that writes it; None: runs only
    int8: bool  # calibrated on images
    suffix: str | None  # the file written; None: nothing to ship
    help: str
    build: Callable[[BuildInputs], Any]
    run: Callable[[Any], Runner]
    # uint8 N x C x H x W pixels -> logits, mean and std in the engine's graph; None: normalised on the host
    pixels: Callable[[Any, Preprocess], Runner] | None = None
    recipe: str = "ours"  # ours: tuned here; defaults: the library's own, as its documentation sets it up
    write: Callable[[Any, Path], int] | None = None  # bytes written
    read: Callable[[Path], Any] | None = None
    metadata: Callable[[Any], dict[str, str]] | None = None  # what a graph carries (config, preprocessing, classes)
    needs: str | None = None  # the module its runtime comes in (an optional extra)
    auto: bool = True  # a candidate of ``export --format auto`` (the host engines; not the device runtimes)
    timed: bool = True  # a row of the peer table (not an emulated device interpreter)
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


# --- torch ------------------------------------------------------------------------------------
def _torch_module(inputs: BuildInputs) -> torch.nn.Module:
    return inputs.loaded.model.eval().to(inputs.device or "cpu")


def _torch_compiled(inputs: BuildInputs) -> Any:
    import torch

    from ..utils.device import quiet_missing_cuda

    quiet_missing_cuda()
    return torch.compile(_torch_module(inputs))


def torch_runner(module: Any) -> Runner:
    import torch

    device = next(p.device for p in (module._orig_mod if hasattr(module, "_orig_mod") else module).parameters())

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(x.to(device)).cpu()

    return run


# --- ONNX Runtime -----------------------------------------------------------------------------
def _tag_onnx(proto: onnx.ModelProto, backend: str) -> bytes:
    import onnx

    props = {p.key: p.value for p in proto.metadata_props}
    onnx.helper.set_model_props(proto, {**props, META_BACKEND: backend})
    return proto.SerializeToString()


def _ort_fp32(inputs: BuildInputs) -> bytes:
    import onnx

    proto = onnx.ModelProto()
    proto.CopyFrom(inputs.proto())
    return _tag_onnx(proto, "onnxruntime")


def _ort_int8_bytes(inputs: BuildInputs) -> bytes:
    from .quantize import quantize_int8

    return inputs.once("onnxruntime-int8", lambda: quantize_int8(inputs.proto(), inputs.calib))


def _ort_int8(inputs: BuildInputs) -> bytes:
    import onnx

    return _tag_onnx(onnx.load_from_string(_ort_int8_bytes(inputs)), "onnxruntime-int8")


def _ort_int8_defaults(inputs: BuildInputs) -> bytes:
    import onnx

    from .quantize import static_int8

    return _tag_onnx(onnx.load_from_string(static_int8(inputs.proto(), inputs.calib)), "onnxruntime-int8-defaults")


def _ort_run(graph: bytes) -> Runner:
    from .ort import ort_session, session_runner

    return session_runner(ort_session(graph))


def _ort_pixels(graph: bytes, preprocess: Preprocess) -> Runner:
    import numpy as np

    from .onnx_export import with_pixel_input
    from .ort import ort_session, session_runner

    return session_runner(ort_session(with_pixel_input(graph, preprocess)), np.uint8)


def _onnx_metadata(graph: bytes) -> dict[str, str]:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        return {p.key: p.value for p in onnx.load_model_from_string(graph).metadata_props}
    except (DecodeError, ValueError, RuntimeError):
        raise SqueezeNetError("not a readable ONNX model (truncated, damaged, or not ONNX)") from None


def _write_bytes(graph: bytes, out: Path) -> int:
    from ..utils.atomic import write_bytes
    from ..utils.seal import seal

    sealed = seal(graph)
    write_bytes(out, sealed)
    return len(sealed)


def _read_bytes(path: Path) -> bytes:
    """A file's bytes, its digest checked (``utils.seal``): a damaged file is refused before any parser sees it."""
    from ..utils.seal import verify

    data = path.read_bytes()
    verify(data, str(path))
    return data


# --- OpenVINO ---------------------------------------------------------------------------------
def _ov(name: str, graph: Callable[[BuildInputs], Any]) -> Callable[[BuildInputs], Any]:
    """A builder of an OpenVINO model from ``graph(inputs)`` (ONNX), tagged as backend ``name``."""

    def build(inputs: BuildInputs) -> Any:
        from .openvino import from_onnx, tag

        return tag(from_onnx(graph(inputs)), name)

    return build


def _ov_int8(
    name: str, fused: bool = False, symmetric: bool = False, defaults: bool = False, float_first: bool = False
) -> Callable[[BuildInputs], Any]:
    """NNCF int8 of the plain graph, or of the fused-expand one (``deploy/fuse.py``)."""

    def build(inputs: BuildInputs) -> Any:
        from .onnx_export import to_onnx
        from .openvino import from_onnx, quantize_nncf, tag

        proto = inputs.once("fused", lambda: to_onnx(inputs.loaded, fuse=True)) if fused else inputs.proto()
        return tag(quantize_nncf(from_onnx(proto), inputs.calib, symmetric, defaults, float_first), name)

    return build


def _onnx_int8_graph(inputs: BuildInputs) -> Any:
    import onnx

    return onnx.load_from_string(_ort_int8_bytes(inputs))


def _ov_default_run(model: Any) -> Runner:
    from .openvino import default_runner

    return default_runner(model)


def _ov_run(precision: str | None) -> Callable[[Any], Runner]:
    def run(model: Any) -> Runner:
        from .openvino import ov_runner

        return ov_runner(model, precision)

    return run


def _ov_pixels(precision: str | None) -> Callable[[Any, Preprocess], Runner]:
    def run(model: Any, preprocess: Preprocess) -> Runner:
        import numpy as np

        from .openvino import ov_runner, with_pixel_input

        return ov_runner(with_pixel_input(model, preprocess), precision, np.uint8)

    return run


def _ov_write(model: Any, out: Path) -> int:
    from .openvino import save_ir

    return save_ir(model, out)


def _ov_read(path: Path) -> Any:
    from .openvino import read_ir

    return read_ir(path)


def _ov_metadata(model: Any) -> dict[str, str]:
    from .openvino import metadata

    return metadata(model)


# --- LiteRT, TFLite Micro, ExecuTorch: the device runtimes ------------------------------------
def _litert(name: str, int8: bool = False, ours: bool = True) -> Callable[[BuildInputs], bytes]:
    def build(inputs: BuildInputs) -> bytes:
        from .litert import to_tflite

        return inputs.once(name, lambda: to_tflite(inputs.loaded, name, inputs.calib if int8 else None, ours))

    return build


def _micro(inputs: BuildInputs) -> bytes:
    """litert-int8's file (built once), tagged for TFLite Micro."""
    from .litert import read_metadata, with_metadata

    graph = _litert("litert-int8", int8=True)(inputs)
    return with_metadata(graph, {**read_metadata(graph), META_BACKEND: "tflite-micro"})


def _litert_run(graph: bytes) -> Runner:
    from .litert import litert_runner

    return litert_runner(graph)


def _litert_metadata(graph: bytes) -> dict[str, str]:
    from .litert import read_metadata

    return read_metadata(graph)


def _micro_run(graph: bytes) -> Runner:
    from .micro import micro_runner

    return micro_runner(graph)


def _micro_write(graph: bytes, out: Path) -> int:
    from .micro import write_micro

    return write_micro(graph, out)


def _tflite_read(path: Path) -> bytes:
    """Either ``.tflite`` (LiteRT's or TFLite Micro's): the header beside it, if export wrote one, must match."""
    from .micro import read_micro

    return read_micro(path)


def _micro_describe(graph: bytes) -> dict[str, Any]:
    from ..formats.preprocess import Preprocess
    from ..models.config import SqueezeNetConfig
    from ..models.squeezenet import SqueezeNet
    from .footprint import peak_activations
    from .litert import read_metadata
    from .metadata import META_CONFIG, META_PREPROCESS
    from .micro import measure

    meta = read_metadata(graph)
    model = SqueezeNet(SqueezeNetConfig.from_json(meta[META_CONFIG]))
    planned, _ = peak_activations(model, Preprocess.from_json(meta[META_PREPROCESS]).crop, 1)
    return measure(graph, planned).to_dict()


def _pte(name: str, int8: bool = False, ours: bool = True) -> Callable[[BuildInputs], bytes]:
    def build(inputs: BuildInputs) -> bytes:
        from .pte import to_pte

        return to_pte(inputs.loaded, name, inputs.calib if int8 else None, ours)

    return build


def _pte_run(graph: bytes) -> Runner:
    from .pte import pte_runner

    return pte_runner(graph)


def _pte_metadata(graph: bytes) -> dict[str, str]:
    from .pte import read_metadata

    return read_metadata(graph)


# --- hls4ml: an FPGA's HLS project -----------------------------------------------------------
def _hls(inputs: BuildInputs) -> Any:
    from .hls import to_hls

    return to_hls(inputs.loaded, inputs.calib, inputs.fixed_bits)


def _hls_run(project: Any) -> Runner:
    from .hls import hls_runner

    return hls_runner(project)


def _hls_write(project: Any, out: Path) -> int:
    from .hls import write_project

    return write_project(project, out)


def _hls_read(path: Path) -> Any:
    from .hls import read_project

    return read_project(path)


def _hls_describe(project: Any) -> dict[str, Any]:
    from .hls import describe

    return describe(project)


ORT = {
    "family": "onnxruntime",
    "format": "onnx",
    "suffix": ".onnx",
    "run": _ort_run,
    "pixels": _ort_pixels,
    "write": _write_bytes,
    "read": _read_bytes,
    "metadata": _onnx_metadata,
}
OV = {
    "family": "openvino",
    "format": "openvino",
    "suffix": ".xml",
    "write": _ov_write,
    "read": _ov_read,
    "metadata": _ov_metadata,
}
# batch-1 graphs for devices: timed in the peer table, never chosen by ``auto`` for this host
LITERT = {
    "family": "litert",
    "format": "litert",
    "suffix": ".tflite",
    "run": _litert_run,
    "write": _write_bytes,
    "read": _tflite_read,
    "metadata": _litert_metadata,
    "needs": "litert_torch",
    "auto": False,
}
EXECUTORCH = {
    "family": "executorch",
    "format": "executorch",
    "suffix": ".pte",
    "run": _pte_run,
    "write": _write_bytes,
    "read": _read_bytes,
    "metadata": _pte_metadata,
    "needs": "executorch",
    "auto": False,
}
_proto = BuildInputs.proto  # the plain fp32 ONNX graph
# The first record of each (format, int8) pair is what ``export --format F [--int8]`` writes;
# ``export --format auto`` times them all on the CPU in front of it.
TABLE = (
    Backend("torch", "torch", None, False, None, "PyTorch eager, fp32", _torch_module, torch_runner, recipe="defaults"),
    Backend(
        "torch-compile",
        "torch",
        None,
        False,
        None,
        "torch.compile (Inductor), fp32",
        _torch_compiled,
        torch_runner,
        recipe="defaults",
    ),
    Backend("onnxruntime", int8=False, help="ONNX Runtime, fp32", build=_ort_fp32, **ORT),
    Backend(
        "onnxruntime-int8",
        int8=True,
        help="ONNX Runtime, static int8 (QDQ, per-channel weights)",
        build=_ort_int8,
        **ORT,
    ),
    Backend(
        "onnxruntime-int8-defaults",
        int8=True,
        help="ONNX Runtime int8, quantize_static's defaults",
        build=_ort_int8_defaults,
        recipe="defaults",
        **ORT,
    ),
    # fp32 pinned to f32: left alone, the plugin runs bf16 where the CPU has it
    Backend(
        "openvino",
        int8=False,
        help="OpenVINO CPU plugin, fp32",
        build=_ov("openvino", _proto),
        run=_ov_run("f32"),
        pixels=_ov_pixels("f32"),
        **OV,
    ),
    Backend(
        "openvino-bf16",
        int8=False,
        help="OpenVINO at the plugin's precision: bf16 where the CPU has it",
        build=_ov("openvino-bf16", _proto),
        run=_ov_run(None),
        pixels=_ov_pixels(None),
        **OV,
    ),
    Backend(
        "openvino-defaults",
        int8=False,
        help="OpenVINO's defaults (compile_model(model, 'CPU'))",
        build=_ov("openvino-defaults", _proto),
        run=_ov_default_run,
        recipe="defaults",
        **OV,
    ),
    # int8 leaves the float layers around the int8 convolutions to the plugin (bf16 where native)
    Backend(
        "openvino-int8",
        int8=True,
        help="OpenVINO, int8 by NNCF (MIXED preset)",
        build=_ov_int8("openvino-int8"),
        run=_ov_run(None),
        pixels=_ov_pixels(None),
        **OV,
    ),
    Backend(
        "openvino-int8-sym",
        int8=True,
        help="OpenVINO, int8 by NNCF with symmetric activations",
        build=_ov_int8("openvino-int8-sym", symmetric=True),
        run=_ov_run(None),
        pixels=_ov_pixels(None),
        **OV,
    ),
    Backend(
        "openvino-int8-float-first",
        int8=True,
        help="OpenVINO, int8 by NNCF with the first convolution in float (no overflow fix)",
        build=_ov_int8("openvino-int8-float-first", float_first=True),
        run=_ov_run(None),
        pixels=_ov_pixels(None),
        **OV,
    ),
    Backend(
        "openvino-int8-fused",
        int8=True,
        help="OpenVINO, int8 by NNCF of the fused-expand graph",
        build=_ov_int8("openvino-int8-fused", fused=True),
        run=_ov_run(None),
        pixels=_ov_pixels(None),
        **OV,
    ),
    Backend(
        "openvino-int8-defaults",
        int8=True,
        help="OpenVINO and NNCF with their defaults",
        build=_ov_int8("openvino-int8-defaults", defaults=True),
        run=_ov_default_run,
        recipe="defaults",
        **OV,
    ),
    Backend(
        "openvino-qdq-defaults",
        int8=True,
        help="OpenVINO's defaults running ONNX Runtime's int8 (QDQ) graph",
        build=_ov("openvino-qdq-defaults", _onnx_int8_graph),
        run=_ov_default_run,
        recipe="defaults",
        **OV,
    ),
    Backend("litert", int8=False, help="LiteRT (TFLite), fp32, NHWC input", build=_litert("litert"), **LITERT),
    Backend(
        "litert-int8",
        int8=True,
        help="LiteRT, full int8 (int8 NHWC input and output) by PT2E, our recipe (deploy/pt2e.py)",
        build=_litert("litert-int8", int8=True),
        **LITERT,
    ),
    Backend(
        "litert-int8-defaults",
        int8=True,
        help="LiteRT int8, litert-torch's quantizer as its documentation configures it",
        build=_litert("litert-int8-defaults", int8=True, ours=False),
        recipe="defaults",
        **LITERT,
    ),
    Backend(
        "tflite-micro",
        "tflite-micro",
        "tflite-micro",
        True,
        ".tflite",
        "TFLite Micro: the full-int8 .tflite and a C header (model array, arena size)",
        _micro,
        _micro_run,
        write=_micro_write,
        read=_tflite_read,
        metadata=_litert_metadata,
        needs="tflite_micro",
        auto=False,
        timed=False,
        describe=_micro_describe,
    ),
    Backend(
        "executorch", int8=False, help="ExecuTorch, fp32, lowered to XNNPACK", build=_pte("executorch"), **EXECUTORCH
    ),
    Backend(
        "executorch-int8",
        int8=True,
        help="ExecuTorch int8 (XNNPACK) by PT2E, our recipe (deploy/pt2e.py)",
        build=_pte("executorch-int8", int8=True),
        **EXECUTORCH,
    ),
    Backend(
        "executorch-int8-defaults",
        int8=True,
        help="ExecuTorch int8, XNNPACK's quantizer as its documentation configures it",
        build=_pte("executorch-int8-defaults", int8=True, ours=False),
        recipe="defaults",
        **EXECUTORCH,
    ),
    Backend(
        "hls4ml",
        "hls4ml",
        "hls4ml",
        False,
        ".hls4ml",
        "hls4ml (experimental): an FPGA's HLS project (a folder), profiled fixed point, checked by C simulation",
        _hls,
        _hls_run,
        write=_hls_write,
        read=_hls_read,
        metadata=lambda project: project.metadata,
        needs="hls4ml",
        auto=False,
        timed=False,
        describe=_hls_describe,
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
