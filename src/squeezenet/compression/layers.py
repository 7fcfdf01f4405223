"""The compressible layers of a SqueezeNet, by the names of the authors' Caffe release."""

from __future__ import annotations

from torch import nn

from ..models import SqueezeNet
from ..models.names import conv_paths


def named_convs(model: SqueezeNet) -> dict[str, nn.Conv2d]:
    """conv1, fire2/squeeze1x1, fire2/expand1x1, fire2/expand3x3, [fire2/shortcut], ..., conv10."""
    return {name: model.get_submodule(path) for name, path in conv_paths(model.config).items()}


def forward_blocks(model: SqueezeNet) -> list[nn.Module]:
    """Top-level modules in forward order: run one after another, they compute the model
    (up to the final flatten), so activations can be carried from block to block."""
    return [*model.features, *model.classifier]
