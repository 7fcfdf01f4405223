"""SqueezeNet models: the Fire module, the network, the design space and the registry of names.

Loading weights into them is ``squeezenet.zoo`` (builders) and ``squeezenet.formats`` (files).
The names below are imported on first use, so reading a config or the registry needs no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SqueezeNetConfig": "config",
    "Fire": "fire",
    "ARCHS": "registry",
    "DEFAULT_ARCH": "registry",
    "arch_config": "registry",
    "list_models": "registry",
    "SqueezeNet": "squeezenet",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
