"""Model names -> configs (timm-style registry), and builders with torchvision's signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SqueezeNetError
from .config import SqueezeNetConfig
from .squeezenet import SqueezeNet

ARCHS: dict[str, SqueezeNetConfig] = {
    "squeezenet1_0": SqueezeNetConfig(layout="v1_0"),
    "squeezenet1_1": SqueezeNetConfig(layout="v1_1"),
}


def arch_config(name: str, **overrides: Any) -> SqueezeNetConfig:
    """The registered config for ``name`` with design-space fields overridden (None = keep)."""
    if name not in ARCHS:
        raise SqueezeNetError(f"unknown arch {name!r}; choose one of {sorted(ARCHS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return ARCHS[name].replace(**changes) if changes else ARCHS[name]


def create_model(name: str, weights: str | Path | None = None, **overrides: Any) -> SqueezeNet:
    """Build ``name`` (randomly initialised), or load ``weights`` (a path or ``"imagenet"``) into it."""
    config = arch_config(name, **overrides)
    if weights is None:
        return SqueezeNet(config)
    from ..io.formats import load_model  # io depends on models; import at call time

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
