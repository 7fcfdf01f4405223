"""PyTorch -> ONNX with a dynamic batch axis (the graph every non-torch backend starts from).

Graph: input ``input`` (N x C x H x W, float32, already preprocessed), output ``logits``
(N x classes). The model config, the preprocessing record and class names travel in the
ONNX metadata, so an exported file is as self-describing as our safetensors.
"""

from __future__ import annotations

import contextlib
import io

import onnx
import torch

from ..formats.loaded import LoadedModel
from .fuse import fuse_expands
from .metadata import INPUT_NAME, OPSET, OUTPUT_NAME, model_metadata

MAX_LOGIT_DIFF = 1e-3


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
    meta = model_metadata(loaded)
    if fuse:
        meta["graph"] = "fire expands fused"
    onnx.helper.set_model_props(proto, meta)
    return proto
