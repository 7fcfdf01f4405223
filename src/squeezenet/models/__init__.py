"""SqueezeNet models: the Fire module, the network, the design space and the model zoo."""

from pathlib import Path
from typing import Any

from .config import SqueezeNetConfig
from .fire import Fire
from .registry import ARCHS, arch_config, create_model, squeezenet1_0, squeezenet1_1
from .squeezenet import SqueezeNet, state_shapes


def load_model(path: str | Path, **kwargs: Any) -> Any:
    """Rebuild a model from any supported weight file; see ``squeezenet.io.formats.load_model``."""
    from ..io.formats import load_model as _load_model

    return _load_model(path, **kwargs)


__all__ = [
    "ARCHS",
    "Fire",
    "SqueezeNet",
    "SqueezeNetConfig",
    "arch_config",
    "create_model",
    "load_model",
    "squeezenet1_0",
    "squeezenet1_1",
    "state_shapes",
]
