"""What every reader returns, and the checks every reader makes before it builds a model.

A file's header says which architecture it holds; ``check_shapes`` compares the tensors it
declares with the ones that architecture builds (on the meta device, so a lying header costs
nothing), and only then does ``build_checked`` allocate the module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import SqueezeNetError
from ..models.config import SqueezeNetConfig
from ..models.squeezenet import SqueezeNet, state_shapes
from .preprocess import Preprocess


@dataclass
class LoadedModel:
    model: SqueezeNet
    preprocess: Preprocess
    source_format: str
    classes: list[str] | None = None  # class names in index order, when the file knows them
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> SqueezeNetConfig:
        return self.model.config


def check_shapes(config: SqueezeNetConfig, shapes: dict[str, tuple[int, ...]], what: str) -> None:
    """The keys and shapes a file declares are exactly those ``config`` builds (nothing allocated)."""
    expected = state_shapes(config)
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        key = (missing or extra)[0]
        raise SqueezeNetError(f"{what}: weights do not match the architecture ({'missing' if missing else 'unexpected'} {key})")
    for key, shape in expected.items():
        if tuple(shapes[key]) != shape:
            raise SqueezeNetError(f"{what}: weights do not match the architecture ({key} is {tuple(shapes[key])}, expected {shape})")


def build_checked(config: SqueezeNetConfig, state: dict[str, torch.Tensor], what: str) -> SqueezeNet:
    """The module for ``config`` holding ``state``, after checking that the two fit."""
    check_shapes(config, {k: tuple(v.shape) for k, v in state.items()}, what)
    model = SqueezeNet(config)
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    return model.eval()


def check_classes(classes: Any, num_classes: int, what: str) -> list[str] | None:
    """A file's class names: None, or exactly one string per output of the head."""
    if classes is None:
        return None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise SqueezeNetError(f"{what}: class names must be a list of strings")
    if len(classes) != num_classes:
        raise SqueezeNetError(f"{what}: lists {len(classes)} class names for a head of {num_classes} classes")
    return classes


def imagenet_classes(num_classes: int) -> list[str] | None:
    if num_classes != 1000:
        return None
    from torchvision.models import SqueezeNet1_1_Weights

    return list(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"])
