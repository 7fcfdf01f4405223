"""PyTorch -> ONNX with a dynamic batch axis, verified against PyTorch before it is written.

Graph: input ``input`` (N x C x H x W, float32, already preprocessed), output ``logits``
(N x classes). The model config, the preprocessing record and class names travel in the
ONNX metadata, so an exported file is as self-describing as our safetensors.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import onnx
import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.atomic import write_bytes
from .fuse import fuse_expands
from .ort import ort_session

OPSET = 18
MAX_LOGIT_DIFF = 1e-3
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def example_input(loaded: LoadedModel, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    crop = loaded.preprocess.crop
    return torch.randn(batch, loaded.config.in_channels, crop, crop, generator=g)


def to_onnx(loaded: LoadedModel, fuse: bool = False) -> onnx.ModelProto:
    """Export with torch.export (the supported exporter) and attach our metadata. ``fuse``: each
    Fire module's expand convolutions as one (``deploy.fuse``; the same function, recorded as
    the ``graph`` metadata entry)."""
    model = loaded.model.eval().to("cpu")
    model = fuse_expands(model) if fuse else model
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints progress lines
        program = torch.onnx.export(
            model,
            (example_input(loaded),),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    proto = program.model_proto
    meta = {"squeezenet_config": loaded.config.to_json(), "preprocess": loaded.preprocess.to_json()}
    if loaded.classes:
        meta["classes"] = json.dumps(loaded.classes)
    if fuse:
        meta["graph"] = "fire expands fused"
    onnx.helper.set_model_props(proto, meta)
    return proto


def max_logit_difference(loaded: LoadedModel, proto_bytes: bytes, inputs: torch.Tensor) -> float:
    session = ort_session(proto_bytes)
    ours = session.run([OUTPUT_NAME], {INPUT_NAME: inputs.numpy()})[0]
    with torch.no_grad():
        reference = loaded.model.eval()(inputs).numpy()
    return float(np.abs(ours - reference).max())


def export_onnx(loaded: LoadedModel, out: str | Path, real_images: torch.Tensor | None = None) -> dict[str, float]:
    """Export, verify on random (and real, when given) inputs, then write atomically."""
    proto_bytes = to_onnx(loaded).SerializeToString()
    report = {"max_logit_diff_random": max_logit_difference(loaded, proto_bytes, example_input(loaded, batch=4, seed=1))}
    if real_images is not None:
        report["max_logit_diff_real"] = max_logit_difference(loaded, proto_bytes, real_images)
    worst = max(report.values())
    if worst >= MAX_LOGIT_DIFF:
        raise SqueezeNetError(f"exported model disagrees with PyTorch (max logit difference {worst:.2e}); not written")
    write_bytes(out, proto_bytes)
    report["bytes"] = len(proto_bytes)
    return report
