"""What every exported file carries and what every backend runs, defined once for the deploy modules.

The metadata (ONNX ``metadata_props``, OpenVINO ``rt_info``) is enough to run a file without the
weights it came from: the model's config, its preprocessing record, its class names, and the
backend it was written for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"  # N x C x H x W preprocessed float32 -> N x classes
Runner = Callable[["torch.Tensor"], "torch.Tensor"]  # a preprocessed float batch -> logits
META_CONFIG, META_PREPROCESS, META_CLASSES = "squeezenet_config", "preprocess", "classes"
META_BACKEND = "squeezenet_backend"
