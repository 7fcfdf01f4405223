"""OpenVINO on the CPU: our verified ONNX graph compiled by OpenVINO, fp32, bf16 or int8 by NNCF.

Why the dependency: OpenVINO's CPU plugin with NNCF's int8 is the fastest SqueezeNet on most x86
CPUs measured (``docs/results/deploy-*.md``); which recipe wins on a given CPU is measured there,
by ``export --format auto``, never assumed. The recipes (rows of ``deploy/backends.py``) differ in:

- precision: ``openvino`` pins fp32 (left alone, the plugin runs bf16 where the CPU has it, and a
  backend called fp32 should compute fp32); ``openvino-bf16`` and the int8 recipes leave it to the
  plugin (``plugin_precision``);
- quantization: NNCF's defaults with statistics from every calibration image (its overflow fix
  on the first layer, as NNCF sets it), symmetric activations (``symmetric``), or the first
  convolution left in float (``float_first``);
- graph: the plain one, or the one whose Fire expands are one convolution (``deploy/fuse.py``);
- runner: one stream on every core, each batch size compiled as a static shape, the input read in
  place (``ov_runner``), or OpenVINO's own defaults (``default_runner``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import openvino as ov
import torch
from openvino.preprocess import PrePostProcessor

from ..errors import SqueezeNetError
from ..formats.preprocess import Preprocess
from ..utils.atomic import atomic_path
from ..utils.device import native_bf16, quiet_missing_cuda
from ..utils.seal import seal, verify
from .metadata import META_BACKEND, META_INPUT, Runner

if TYPE_CHECKING:
    from .inputs import BuildInputs

RT_INFO_KEY = "squeezenet"  # rt_info section holding the ONNX metadata (config, preprocess, classes)


def from_onnx(proto: onnx.ModelProto) -> ov.Model:
    """An OpenVINO model of ``proto``, its metadata carried into rt_info."""
    with tempfile.TemporaryDirectory() as tmp:  # read_model reads ONNX from a path
        path = Path(tmp) / "model.onnx"
        onnx.save(proto, path)
        model = ov.Core().read_model(str(path))
    for prop in proto.metadata_props:
        model.set_rt_info(prop.value, [RT_INFO_KEY, prop.key])
    return model


def tag(model: ov.Model, backend: str) -> ov.Model:
    """Record the backend ``model`` is written for (our readers choose its runner by it)."""
    model.set_rt_info(backend, [RT_INFO_KEY, META_BACKEND])
    return model


def import_nncf() -> Any:
    """NNCF, imported on first use (it takes ~2 s and only int8 needs it)."""
    quiet_missing_cuda()
    import nncf

    return nncf


def quantize_nncf(
    model: ov.Model, images: torch.Tensor, symmetric: bool = False, defaults: bool = False, float_first: bool = False
) -> ov.Model:
    """int8 by NNCF's post-training quantization: statistics from every one of the preprocessed
    ``images``; ``symmetric``: symmetric activations too (NNCF's PERFORMANCE preset: no zero-point
    compensation in the int8 dot products), else NNCF's default MIXED preset; ``defaults``: NNCF's
    defaults throughout, as a user calling ``nncf.quantize(model, dataset)`` gets them.

    ``float_first``: the first convolution stays in float and nothing needs NNCF's overflow fix.
    A CPU without VNNI sums pairs of u8 x s8 products in 16 bits, which saturate; NNCF halves the
    first layer's weight range against it (7-bit weights), and that layer, on raw pixels, is where
    SqueezeNet loses top-1 on such a CPU; in float it keeps fp32's top-1 at a little less than
    full int8's speed (docs/results/deploy-avx2.md). On a VNNI CPU the products do not saturate."""
    nncf = import_nncf()
    dataset = nncf.Dataset([images[i : i + 1].numpy() for i in range(len(images))])
    options: dict[str, Any] = {} if defaults else {"subset_size": len(images)}
    if symmetric:
        options["preset"] = nncf.QuantizationPreset.PERFORMANCE
    if float_first:
        first = next(op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution")
        options["ignored_scope"] = nncf.IgnoredScope(names=[first.get_friendly_name()])
        options["advanced_parameters"] = nncf.AdvancedQuantizationParameters(overflow_fix=nncf.OverflowFix.DISABLE)
    with quiet_nncf():
        quantized = nncf.quantize(model, dataset, **options)
    for key in _meta_keys(model):
        quantized.set_rt_info(model.get_rt_info([RT_INFO_KEY, key]).astype(str), [RT_INFO_KEY, key])
    return quantized


def _meta_keys(model: ov.Model) -> list[str]:
    return list(model.get_rt_info()[RT_INFO_KEY]) if model.has_rt_info([RT_INFO_KEY]) else []


def metadata(model: ov.Model) -> dict[str, str]:
    """The config, preprocessing and class-name records an IR carries (as in our ONNX files)."""
    return {key: model.get_rt_info([RT_INFO_KEY, key]).astype(str) for key in _meta_keys(model)}


@contextlib.contextmanager
def quiet_nncf() -> Iterator[None]:
    """NNCF logs at INFO and draws rich progress bars on stdout, terminal or not; a few seconds
    of statistics collection are not worth a second progress display in our commands."""
    nncf = import_nncf()

    nncf.set_log_level(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        nncf.set_log_level(logging.INFO)


def plugin_precision() -> dict[str, str]:
    """The plugin's own choice of precision (bf16 where the CPU has it), except under an ISA cap below
    bf16 (``ONEDNN_MAX_CPU_ISA=AVX2``, emulating an older CPU): the plugin reads the CPU's flags, not
    the cap, and its bf16 kernels do not exist there, so it is told f32, as it chooses on such a CPU."""
    return {} if native_bf16() else {"INFERENCE_PRECISION_HINT": "f32"}


def compile_model(model: ov.Model, precision: str | None = "f32", threads: int | None = None) -> ov.CompiledModel:
    """One stream on ``threads`` cores; ``precision`` None leaves the plugin's choice (``plugin_precision``).
    A batch split across one stream per core ran no faster than one stream on the two-core
    machines measured, so every recipe runs one stream."""
    config: dict[str, Any] = {"NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": str(threads or os.cpu_count() or 1)}
    config.update({"INFERENCE_PRECISION_HINT": precision} if precision else plugin_precision())
    try:
        return ov.Core().compile_model(model, "CPU", config)
    except RuntimeError as exc:
        raise SqueezeNetError(f"OpenVINO cannot compile the model: {str(exc).strip().splitlines()[0][:200]}") from None


def with_pixel_input(model: ov.Model, preprocess: Preprocess) -> ov.Model:
    """``model`` taking uint8 N x C x H x W pixels (``Preprocess.pixels``): the conversion, channel
    order, mean and std compiled into the graph by OpenVINO's PrePostProcessor, where they cost
    less than normalising on the host, and the input is a quarter of the float input's bytes."""
    ppp = PrePostProcessor(model.clone())
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NCHW"))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if preprocess.color == "BGR":
        steps.reverse_channels()
    mean, std = preprocess.pixel_affine()
    steps.mean(mean).scale(std)
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    built = ppp.build()
    built.set_rt_info("pixels", [RT_INFO_KEY, META_INPUT])
    return built


def ov_runner(model: ov.Model, precision: str | None = "f32", dtype: type = np.float32) -> Runner:
    """Logits for a batch, from a request compiled for that exact batch size.

    Static shapes: OpenVINO plans memory and picks kernels once per shape, which ran faster than
    the dynamic-batch graph at batch 32 and at batch 1; a new batch size compiles once. The
    request reads the caller's array in place for one inference (faster than filling a fresh
    tensor or copying into the request's own) and gets its own input tensor back afterwards.
    ``share_inputs=True`` would leave the request pointing at memory the caller frees (the suite
    crashed at garbage collection with it). ``dtype``: the input's element type (uint8 for
    ``with_pixel_input``)."""
    requests: dict[int, ov.InferRequest] = {}

    def request(shape: tuple[int, ...]) -> ov.InferRequest:
        if shape[0] not in requests:
            static = model.clone()
            static.reshape([*shape])
            requests[shape[0]] = compile_model(static, precision).create_infer_request()
        return requests[shape[0]]

    def run(x: torch.Tensor) -> torch.Tensor:
        data = np.ascontiguousarray(x.numpy(), dtype=dtype)  # no copy for a contiguous batch of that type
        infer = request(data.shape)
        own = infer.get_input_tensor()
        infer.set_input_tensor(ov.Tensor(data, shared_memory=True))
        try:
            infer.infer()
        finally:
            infer.set_input_tensor(own)
        return torch.from_numpy(infer.get_output_tensor().data.copy())

    return run


def default_runner(model: ov.Model) -> Runner:
    """OpenVINO as its documentation starts: ``compile_model(model, "CPU")``, one request, ``infer``."""
    request = ov.Core().compile_model(model, "CPU", plugin_precision()).create_infer_request()
    return lambda x: torch.from_numpy(request.infer([x.numpy()])[0].copy())


def save_ir(model: ov.Model, out: Path) -> int:
    """Write ``out`` (.xml) and the .bin beside it (OpenVINO pairs them by name), each atomically,
    the .xml last: a reader never finds a new .xml without its weights. Bytes of both."""
    xml, binary = out, out.with_suffix(".bin")
    out.parent.mkdir(parents=True, exist_ok=True)  # as every other writer (utils.atomic) does
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        ov.save_model(model, str(Path(tmp) / "model.xml"), compress_to_fp16=False)
        staged_xml = Path(tmp) / "model.xml"  # the digest in the .xml covers the .bin: a stray pair is caught
        staged_xml.write_bytes(seal(staged_xml.read_bytes(), (Path(tmp) / "model.bin").read_bytes()))
        for made, dest in ((Path(tmp) / "model.bin", binary), (Path(tmp) / "model.xml", xml)):
            with atomic_path(dest) as staged:
                os.replace(made, staged)
    return xml.stat().st_size + binary.stat().st_size


def read_ir(path: str | Path) -> ov.Model:
    path = Path(path)
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise SqueezeNetError(f"{path}: its weights {weights.name} are not beside it")
    verify(path.read_bytes(), str(path), weights.read_bytes())
    try:
        return ov.Core().read_model(str(path))
    except RuntimeError as exc:
        raise SqueezeNetError(f"{path}: OpenVINO cannot read it: {str(exc).strip().splitlines()[0][:200]}") from None


def build(inputs: BuildInputs, name: str, graph: str = "fp32") -> ov.Model:
    """An OpenVINO model of the fp32 ONNX graph, or of ONNX Runtime's int8 one (``graph="qdq"``), tagged ``name``."""
    from .ort import int8_bytes

    proto = onnx.load_from_string(int8_bytes(inputs)) if graph == "qdq" else inputs.proto()
    return tag(from_onnx(proto), name)


def build_int8(
    inputs: BuildInputs,
    name: str,
    fused: bool = False,
    symmetric: bool = False,
    defaults: bool = False,
    float_first: bool = False,
) -> ov.Model:
    """NNCF int8 of the plain graph, or of the fused-expand one (``deploy/fuse.py``), tagged ``name``."""
    from .onnx_export import to_onnx

    proto = inputs.once("fused", lambda: to_onnx(inputs.loaded, fuse=True)) if fused else inputs.proto()
    return tag(quantize_nncf(from_onnx(proto), inputs.calib, symmetric, defaults, float_first), name)


def pixel_runner(model: ov.Model, precision: str | None = "f32") -> Runner:
    """Logits of uint8 pixels, for a model that takes them (``with_pixel_input``)."""
    return ov_runner(model, precision, np.uint8)
