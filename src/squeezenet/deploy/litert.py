"""LiteRT (TensorFlow Lite) files for phones and microcontrollers, made by ``litert-torch``.

The graph takes TFLite's native layout: an N x H x W x C input (``to_channel_last_io``), logits out.
int8 is full-integer: the input and output tensors themselves are int8 (scale and zero point in the
file), every weight int8 per output channel, every activation int8, so the same file runs under
TFLite Micro (``deploy/micro.py``). It is quantized by PT2E (``deploy/pt2e.py``) with
litert-torch's own quantizer on our calibration images: our recipe (``pt2e.py`` says what it
changes and why), or, as the peer table's LiteRT defaults, the configuration litert-torch's
documentation sets up (``get_symmetric_quantization_config(is_per_channel=True)``).

The model's config, preprocessing and class names travel as one JSON entry (``squeezenet``) of the
flatbuffer's ``metadata`` list, which interpreters ignore and ``read_metadata`` reads back.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.native import captured_fd
from .metadata import META_BACKEND, Runner, model_metadata
from .onnx_export import example_input
from .pt2e import OurRecipe, min_max_activations, quantize_pt2e

if TYPE_CHECKING:
    from .inputs import BuildInputs

METADATA_NAME = "squeezenet"


class _ChannelsLast(torch.nn.Module):
    """``model`` taking N x H x W x C. litert-torch's ``to_channel_last_io`` does the same with a
    ``forward(*args)`` that ``torch.export`` cannot give a dynamic batch axis, which PT2E's
    calibration in batches needs."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.permute(0, 3, 1, 2))


def _litert_torch() -> Any:
    """litert-torch, its start-up banners dropped and its progress lines off (it prints a task
    tree on stdout, terminal or not)."""
    with captured_fd(2):
        import litert_torch

    litert_torch.config.show_progress = False
    # litert-torch loads JAX, which then warns at every fork (a DataLoader's workers): those
    # children decode images and never touch JAX
    warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
    return litert_torch


def to_tflite(loaded: LoadedModel, backend: str, calib: torch.Tensor | None = None, ours: bool = True) -> bytes:
    """The ``.tflite`` bytes of ``loaded``: fp32, or full int8 calibrated on ``calib`` (N x C x H x W);
    ``ours``: our recipe, else the quantizer as documented."""
    litert_torch = _litert_torch()
    model = _ChannelsLast(loaded.model.to("cpu")).eval()
    sample = (example_input(loaded).permute(0, 2, 3, 1).contiguous(),)
    with contextlib.redirect_stdout(io.StringIO()), captured_fd(2):  # the converter's diagnostics
        if calib is None:
            edge = litert_torch.convert(model, sample)
        else:
            from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
            from litert_torch.quantize.quant_config import QuantConfig

            config = get_symmetric_quantization_config(is_per_channel=True)
            config = min_max_activations(config) if ours else config
            quantizer = PT2EQuantizer().set_global(config)
            recipe = OurRecipe(quantizer, config.output_activation) if ours else quantizer
            graph = quantize_pt2e(model, recipe, calib.permute(0, 2, 3, 1).contiguous(), fold=False)
            edge = litert_torch.convert(graph, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer))
        tflite = edge.model_content()  # serialised here, lazily
    return with_metadata(tflite, {**model_metadata(loaded), META_BACKEND: backend})


def with_metadata(tflite: bytes, meta: dict[str, str]) -> bytes:
    """``tflite`` with ``meta`` as its ``squeezenet`` metadata entry (replacing one already there)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if _name(m) != METADATA_NAME] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _name(entry: Any) -> str:
    return entry.name.decode() if isinstance(entry.name, bytes) else str(entry.name)


def read_metadata(tflite: bytes) -> dict[str, str]:
    """The ``squeezenet`` metadata entry of a ``.tflite`` file (empty when it has none)."""
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.Model.GetRootAsModel(tflite, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() and entry.Name().decode() == METADATA_NAME:
                return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    except (struct.error, ValueError, IndexError, AttributeError, UnicodeDecodeError, TypeError):
        raise SqueezeNetError("not a readable .tflite file (truncated, or not a TFLite flatbuffer)") from None
    return {}


def interpreter(tflite: bytes, threads: int | None = None) -> Any:
    """LiteRT's interpreter on ``tflite``, with its default XNNPACK delegate on the CPU."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with captured_fd(2):  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            found = Interpreter(model_content=tflite, num_threads=threads or os.cpu_count() or 1)
            found.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise SqueezeNetError(f"LiteRT cannot load the file: {str(exc).strip().splitlines()[0][:200]}") from None
    return found


def operators(tflite: bytes) -> Counter[str]:
    """The built-in operators the file's graph holds (no delegate applied), with their counts."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    plain = Interpreter(
        model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    return Counter(op["op_name"] for op in plain._get_ops_details())


def quantize_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """A float NHWC batch as the tensor ``detail`` describes (int8 with its scale and zero point, or float)."""
    if detail["dtype"] != np.int8:
        return x.astype(detail["dtype"])
    scale, zero = detail["quantization"]
    return np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)


def dequantize_output(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if detail["dtype"] != np.int8:
        return y.astype(np.float32)
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale


def litert_runner(tflite: bytes) -> Runner:
    """Logits for an N x C x H x W float batch: each image through the batch-1 graph, as on a device."""
    engine = interpreter(tflite)
    source, sink = engine.get_input_details()[0], engine.get_output_details()[0]

    def run(x: torch.Tensor) -> torch.Tensor:
        images = x.permute(0, 2, 3, 1).numpy()
        out = []
        for image in images:
            engine.set_tensor(source["index"], quantize_input(image[None], source))
            engine.invoke()
            out.append(dequantize_output(engine.get_tensor(sink["index"]), sink))
        return torch.from_numpy(np.concatenate(out))

    return run


def build(inputs: BuildInputs, name: str, int8: bool = False, ours: bool = True) -> bytes:
    """The ``.tflite`` bytes backend ``name`` runs, made once per build inputs (TFLite Micro takes litert-int8's)."""
    return inputs.once(name, lambda: to_tflite(inputs.loaded, name, inputs.calib if int8 else None, ours))
