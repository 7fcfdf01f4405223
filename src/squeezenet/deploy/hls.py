"""hls4ml (experimental): the FPGA variant as an HLS project, checked by hls4ml's bit-accurate C simulation.

hls4ml writes the network as C++ over fixed-point numbers (``ap_fixed<W,I>``: W bits, I of them
before the point) that Vivado or Vitis HLS synthesise for an FPGA. ``compile()`` builds the same
C++ with g++, so the C simulation here computes what the chip would, bit for bit; no FPGA tools
are needed to write and check the project, only to synthesise it.

The design streams layer to layer through FIFOs (``io_stream``), which pools only
non-overlapping windows, so the model must be the ``--pool 2x2`` variant (hls4ml would also build
a ceil-mode pool one pixel short without a word: every layer's shape is compared with PyTorch's).
For the export, the adaptive average pool becomes a fixed one of the input size's last feature
map, and the strided stem's empty place (an ``nn.Identity``, which hls4ml has no layer for) goes.

Precision comes from profiling, not a guess: a forward pass over the calibration images records
every layer's range (``torch.fx``, whose node names are the names hls4ml gives its layers); each
layer's output gets the integer bits its range needs at ``fixed_bits`` in all, unsigned where the
layer is never negative (after each ReLU), rounding to nearest and saturating; weights and biases
the same from their own ranges; accumulators are left to hls4ml, which sizes them from these.
Hand-written rather than ``hls4ml.model.profiling``, which draws plots (pandas, seaborn) and traces
``nn.Sequential`` models only.

The project folder (``NAME.hls4ml``) holds hls4ml's files and ``squeezenet.json``: the model's
config, preprocessing and class names, the backend, and the format chosen for each layer. A
folder is not run again once written (``read_project`` says why).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.atomic import atomic_directory, write_text
from ..utils.native import captured_fd
from .metadata import FOLDER_METADATA, META_BACKEND, Runner, model_metadata
from .precision import DEFAULT_FIXED_BITS

if TYPE_CHECKING:
    from .inputs import BuildInputs

PROJECT_NAME = "squeezenet"
PROFILE_BATCH = 64
META_FORMATS = "fixed_point"  # layer -> its output's format, as the project was built


@dataclass
class HlsProject:
    """An hls4ml model, compiled for C simulation, and the folder it was written to."""

    model: Any  # hls4ml ModelGraph
    folder: Path
    metadata: dict[str, str]


def streamable(loaded: LoadedModel) -> nn.Module:
    """A copy of the model as hls4ml streams it: a fixed average pool, no empty layers."""
    if loaded.config.pool != "2x2":
        raise SqueezeNetError(
            f"hls4ml streams non-overlapping pools only, and this model has the paper's {loaded.config.pool} "
            "max-pools: export a model of the FPGA variant (squeezenet train --pool 2x2)"
        )
    model = copy.deepcopy(loaded.model).eval().cpu()
    model.features = nn.Sequential(*(m for m in model.features if not isinstance(m, nn.Identity)))
    crop = loaded.preprocess.crop
    with torch.no_grad():
        side = model.features(torch.zeros(1, loaded.config.in_channels, crop, crop)).shape[-1]
    model.classifier[-1] = nn.AvgPool2d(side)
    return model


class _Ranges(torch.fx.Interpreter):
    """Each node's (min, max, shape without batch) over every batch it is run on."""

    def __init__(self, module: torch.fx.GraphModule) -> None:
        super().__init__(module)
        self.ranges: dict[str, tuple[float, float, tuple[int, ...]]] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        out = super().run_node(n)
        if isinstance(out, torch.Tensor) and out.dim() >= 2:
            lo, hi, _ = self.ranges.get(n.name, (0.0, 0.0, ()))
            self.ranges[n.name] = (min(lo, float(out.min())), max(hi, float(out.max())), tuple(out.shape[1:]))
        return out


def profile(traced: torch.fx.GraphModule, images: torch.Tensor) -> dict[str, tuple[float, float, tuple[int, ...]]]:
    """Every layer's output range and shape on ``images``, by hls4ml's layer names (fx's)."""
    ranges = _Ranges(traced)
    with torch.no_grad():
        for batch in images.split(PROFILE_BATCH):
            ranges.run(batch)
    return ranges.ranges


def fixed_format(lo: float, hi: float, bits: int) -> str:
    """The ``bits``-wide format with the fewest integer bits that hold [lo, hi]."""
    whole = math.floor(math.log2(max(hi, -lo, 2.0**-12))) + 1  # 2**(whole-1) <= magnitude < 2**whole
    if lo >= 0:
        return f"ap_ufixed<{bits},{whole},AP_RND_CONV,AP_SAT>"
    return f"ap_fixed<{bits},{whole + 1},AP_RND_CONV,AP_SAT>"


def _hls4ml() -> Any:
    with contextlib.redirect_stdout(io.StringIO()), captured_fd(2):
        import hls4ml
    return hls4ml


def layer_config(model: nn.Module, images: torch.Tensor, bits: int) -> tuple[dict[str, Any], dict]:
    """hls4ml's per-layer configuration with the profiled formats, and the profile itself."""
    hls4ml = _hls4ml()
    traced = torch.fx.symbolic_trace(model)
    ranges = profile(traced, images)
    shape = tuple(images.shape[1:])
    with contextlib.redirect_stdout(io.StringIO()):
        config = hls4ml.utils.config_from_pytorch_model(
            model, shape, granularity="name", backend="Vivado", default_precision=f"ap_fixed<{bits},{bits // 2}>"
        )
    # the input arrives channels last, as a camera streams pixels ("full" would insert a transpose,
    # a frame's buffer on the chip, and take PyTorch's layout)
    config["Model"]["ChannelsLastConversion"] = "internal"
    modules = {n.name: traced.get_submodule(n.target) for n in traced.graph.nodes if n.op == "call_module"}
    for name, layer in config["LayerName"].items():
        if name in ranges:
            layer["Precision"]["result"] = fixed_format(*ranges[name][:2], bits)
        if isinstance(modules.get(name), nn.Conv2d):
            for part in ("weight", "bias"):
                values = getattr(modules[name], part).detach()
                layer["Precision"][part] = fixed_format(float(values.min()), float(values.max()), bits)
    return config, ranges


def _check_shapes(hls_model: Any, ranges: dict[str, tuple[float, float, tuple[int, ...]]]) -> None:
    """Every layer hls4ml built has PyTorch's output shape (channels last in hls4ml)."""
    for name, layer in hls_model.graph.items():
        if name not in ranges or layer.class_name == "Input":
            continue
        want = list(ranges[name][2])
        want = [*want[1:], want[0]] if len(want) == 3 else want
        got = list(layer.get_output_variable().shape)
        if got != want:
            raise SqueezeNetError(f"hls4ml builds {name} as {got} where PyTorch has {want}; not written")


def convert(model: nn.Module, config: dict[str, Any], ranges: dict, folder: Path) -> Any:
    """hls4ml's model of ``model`` (to be written to ``folder``), its layer shapes checked."""
    with contextlib.redirect_stdout(io.StringIO()):
        hls_model = _hls4ml().converters.convert_from_pytorch_model(
            model,
            hls_config=config,
            output_dir=str(folder),
            project_name=PROJECT_NAME,
            backend="Vivado",
            io_type="io_stream",
        )
    # hls4ml's YAML would hold the whole module, pickled, and the input shape as a Python tuple,
    # which its own reader (``yaml.safe_load``) then refuses: plain data only
    hls_model.config.config["PytorchModel"] = None
    hls_model.config.config["InputShape"] = list(hls_model.config.config["InputShape"])
    _check_shapes(hls_model, ranges)
    return hls_model


def _compile(project: HlsProject) -> None:
    if shutil.which("g++") is None:
        raise SqueezeNetError("the hls4ml C simulation builds with g++, which is not installed")
    with contextlib.redirect_stdout(io.StringIO()), captured_fd(1) as out, captured_fd(2) as err:
        try:
            project.model.compile()
        except Exception as e:  # hls4ml raises bare Exceptions when g++ fails
            raise SqueezeNetError(f"the hls4ml project did not compile: {(err or out or [str(e)])[-1][:200]}") from None


def to_hls(loaded: LoadedModel, calib: torch.Tensor, bits: int = DEFAULT_FIXED_BITS) -> HlsProject:
    """The model as an hls4ml project in a temporary folder, compiled for C simulation."""
    model = streamable(loaded)
    config, ranges = layer_config(model, calib, bits)
    folder = Path(tempfile.mkdtemp(prefix="squeezenet-hls4ml-"))
    try:
        hls_model = convert(model, config, ranges, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused model leaves nothing behind
        raise
    formats = {name: layer["Precision"]["result"] for name, layer in config["LayerName"].items()}
    metadata = {**model_metadata(loaded, digest=False), META_BACKEND: "hls4ml", META_FORMATS: json.dumps(formats)}
    project = HlsProject(hls_model, folder, metadata)
    weakref.finalize(project, shutil.rmtree, folder, True)
    _compile(project)
    return project


def hls_runner(project: HlsProject) -> Runner:
    """Logits of the C simulation for an N x C x H x W float batch (hls4ml takes it channels last)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        data = np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy(), dtype=np.float32)
        out = np.asarray(project.model.predict(data), dtype=np.float32)
        return torch.from_numpy(out.reshape(len(x), -1))

    return run


def write_project(project: HlsProject, out: Path) -> int:
    """The project's sources (not the C simulation's library) and ``squeezenet.json``, as one
    folder that replaces ``out`` whole; bytes written."""
    with atomic_directory(out, FOLDER_METADATA) as tmp:
        shutil.copytree(project.folder, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.so", "*.o"))
        settings = tmp / "hls4ml_config.yml"  # where hls4ml's own tools will find the project: here
        where = f"OutputDir: {json.dumps(str(out.resolve()))}"  # a JSON string is a YAML string
        write_text(settings, re.sub(r"^OutputDir: .*$", lambda _: where, settings.read_text(), count=1, flags=re.M))
        write_text(tmp / FOLDER_METADATA, json.dumps(project.metadata, indent=1, sort_keys=True))
        return sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())


def read_project(path: Path) -> HlsProject:
    """Refused: running a project means compiling its C++ and running it (and hls4ml's
    ``build_lib.sh``), which is running whatever the folder holds, like unpickling a file. The
    C simulation of the project ``export`` builds is its check, before anything is written."""
    raise SqueezeNetError(
        f"{path}: an hls4ml project runs only by compiling and executing its code, so squeezenet simulates "
        "only the projects it builds (export checks each one); to simulate this one, trust it and run its "
        "build_prj.tcl in Vivado/Vitis HLS"
    )


def format_bits(fmt: str) -> tuple[int, int]:
    """(width, integer bits) of a format ``fixed_format`` wrote: ``ap_fixed<16,5,...>`` -> (16, 5)."""
    width, whole = fmt.split("<", 1)[1].split(",")[:2]
    return int(width), int(whole)


def describe(project: HlsProject) -> dict[str, Any]:
    """What export reports of the project: the formats profiling chose, their width and the range
    of their integer bits."""
    formats = json.loads(project.metadata[META_FORMATS])
    bits = [format_bits(f) for f in formats.values()]
    return {
        "layers": len(formats),
        "formats": formats,
        "fixed_bits": bits[0][0],
        "integer_bits": [min(w for _, w in bits), max(w for _, w in bits)],
    }


def build(inputs: BuildInputs) -> HlsProject:
    return to_hls(inputs.loaded, inputs.calib, inputs.fixed_bits)
