"""The model zoo: builders with torchvision's signature (``weights=``) and timm's
``create_model``, for every registered architecture.

They sit above ``models`` (the modules) and ``formats`` (the weight readers) because they use
both: a builder without weights is the bare module; with weights, the file decides the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import SqueezeNetError
from .formats.loaded import LoadedModel
from .formats.weights import load_model
from .models import SqueezeNet, arch_config

__all__ = ["create_model", "load_model", "squeezenet1_0", "squeezenet1_1", "LoadedModel"]


def create_model(name: str, weights: str | Path | None = None, **overrides: Any) -> SqueezeNet:
    """Build ``name`` (randomly initialised), or load ``weights`` (a path or ``"imagenet"``) into it."""
    config = arch_config(name, **overrides)
    if weights is None:
        return SqueezeNet(config)
    loaded = load_model(weights, arch=config, arch_name=name)
    if loaded.config.num_classes != config.num_classes:
        raise SqueezeNetError(
            f"weights have {loaded.config.num_classes} classes, asked for {config.num_classes}"
        )
    return loaded.model


def squeezenet1_0(weights: str | Path | None = None, num_classes: int = 1000, **overrides: Any) -> SqueezeNet:
    """SqueezeNet v1.0 (Table 1 of the paper): 1,248,424 parameters at 1000 classes."""
    return create_model("squeezenet1_0", weights, num_classes=num_classes, **overrides)


def squeezenet1_1(weights: str | Path | None = None, num_classes: int = 1000, **overrides: Any) -> SqueezeNet:
    """SqueezeNet v1.1 (2.4x less computation than v1.0): 1,235,496 parameters at 1000 classes."""
    return create_model("squeezenet1_1", weights, num_classes=num_classes, **overrides)
