"""Model names -> configs (timm-style registry). Builders that load weights live in ``squeezenet.zoo``."""

from __future__ import annotations

import fnmatch
from typing import Any

from ..errors import SqueezeNetError
from .config import SqueezeNetConfig

ARCHS: dict[str, SqueezeNetConfig] = {
    "squeezenet1_0": SqueezeNetConfig(layout="v1_0"),
    "squeezenet1_1": SqueezeNetConfig(layout="v1_1"),
}
# v1.1: the same accuracy as v1.0 for 2.4x less computation (the authors' recommendation)
DEFAULT_ARCH = "squeezenet1_1"


def arch_config(name: str, **overrides: Any) -> SqueezeNetConfig:
    """The registered config for ``name`` with design-space fields overridden (None = keep)."""
    if name not in ARCHS:
        raise SqueezeNetError(f"unknown arch {name!r}; choose one of {sorted(ARCHS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return ARCHS[name].replace(**changes) if changes else ARCHS[name]


def list_models(pattern: str = "*") -> list[str]:
    """Registered architecture names matching a shell-style ``pattern``, as timm's ``list_models``."""
    return sorted(fnmatch.filter(ARCHS, pattern))
