"""Checks every reader makes of what a file declares, before anything is allocated (no torch needed).

A file's header says which architecture it holds; ``check_shapes`` compares the tensors it
declares with the ones that architecture builds (by arithmetic, ``models.names.tensor_shapes``),
so a lying header costs nothing, and only then may a reader allocate.
"""

from __future__ import annotations

from typing import Any

from ..errors import SqueezeNetError
from ..models.config import SqueezeNetConfig
from ..models.names import tensor_shapes


def check_shapes(config: SqueezeNetConfig, shapes: dict[str, tuple[int, ...]], what: str) -> None:
    """The keys and shapes a file declares are exactly those ``config`` builds."""
    expected = tensor_shapes(config)
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        key = (missing or extra)[0]
        kind = "missing" if missing else "unexpected"
        raise SqueezeNetError(f"{what}: weights do not match the architecture ({kind} {key})")
    for key, shape in expected.items():
        if tuple(shapes[key]) != shape:
            raise SqueezeNetError(
                f"{what}: weights do not match the architecture ({key} is {tuple(shapes[key])}, expected {shape})"
            )


def check_classes(classes: Any, num_classes: int, what: str) -> list[str] | None:
    """A file's class names: None, or exactly one string per output of the head."""
    if classes is None:
        return None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise SqueezeNetError(f"{what}: class names must be a list of strings")
    if len(classes) != num_classes:
        raise SqueezeNetError(f"{what}: lists {len(classes)} class names for a head of {num_classes} classes")
    return classes
