"""What every exported file carries and what every backend runs, defined once for the deploy modules.

The metadata (ONNX ``metadata_props``, OpenVINO ``rt_info``, a ``.tflite`` file's metadata entry,
a ``.pte`` program's constant method) is enough to run a file without the
weights it came from: the model's config, its preprocessing record, its class names, and the
backend it was written for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..utils.seal import META_DIGEST, PLACEHOLDER

if TYPE_CHECKING:
    import torch

    from ..formats.loaded import LoadedModel

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"  # N x C x H x W preprocessed float32 -> N x classes
PIXELS_NAME = "pixels"  # N x C x H x W uint8, the input of a graph that normalises in-graph
Runner = Callable[["torch.Tensor"], "torch.Tensor"]  # a preprocessed float batch -> logits
META_CONFIG, META_PREPROCESS, META_CLASSES = "squeezenet_config", "preprocess", "classes"
META_BACKEND = "squeezenet_backend"
META_INPUT = "squeezenet_input"  # "pixels": the graph takes uint8 pixels (``Preprocess.pixels``); absent: floats
FOLDER_METADATA = "squeezenet.json"  # an exported folder's metadata (an HLS project's), and its mark as ours


def model_metadata(loaded: LoadedModel, digest: bool = True) -> dict[str, str]:
    """What every exported file carries about its model (the backend is added when it is built);
    ``digest``: room for the file's own digest, written in when it is saved (``utils.seal``)."""
    meta = {META_CONFIG: loaded.config.to_json(), META_PREPROCESS: loaded.preprocess.to_json()}
    if digest:
        meta[META_DIGEST] = PLACEHOLDER
    if loaded.classes:
        meta[META_CLASSES] = json.dumps(loaded.classes)
    return meta
