"""SqueezeNet: AlexNet-level accuracy with 50x fewer parameters, as a toolkit.

    import squeezenet
    model = squeezenet.create_model("squeezenet1_1", pretrained=True, num_classes=2)
    loaded = squeezenet.load_model("run/model.safetensors")
    squeezenet.compress(loaded, "run/model.sqz", bits=6, data="ants_bees")
    squeezenet.export(loaded, "run/model-int8.onnx", int8=True, calib_data="ants_bees/train")

Names are imported on first use: ``import squeezenet`` itself loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

_EXPORTS = {
    "create_model": "api",
    "list_models": "api",
    "load_model": "api",
    "save_model": "api",
    "compress": "api",
    "export": "api",
    "LoadedModel": "formats.loaded",
    "SqueezeNet": "models.squeezenet",
    "SqueezeNetConfig": "models.config",
    "CompressOptions": "compression.options",
    "ExportOptions": "deploy.options",
    "SqueezeNetError": "errors",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
