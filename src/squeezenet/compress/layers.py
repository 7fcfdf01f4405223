"""The compressible layers of a SqueezeNet, named as in the authors' Caffe release."""

from __future__ import annotations

from torch import nn

from ..models import Fire, SqueezeNet


def named_convs(model: SqueezeNet) -> dict[str, nn.Conv2d]:
    """conv1, fire2/squeeze1x1, fire2/expand1x1, fire2/expand3x3, [fire2/shortcut], ..., conv10."""
    convs: dict[str, nn.Conv2d] = {}
    for name, module in model.named_layers():
        if isinstance(module, Fire):
            convs[f"{name}/squeeze1x1"] = module.squeeze
            convs[f"{name}/expand1x1"] = module.expand1x1
            convs[f"{name}/expand3x3"] = module.expand3x3
            if module.shortcut is not None:
                convs[f"{name}/shortcut"] = module.shortcut
        else:
            convs[name] = module
    return convs


def state_key(model: SqueezeNet, conv: nn.Conv2d) -> str:
    """The state-dict prefix of ``conv`` (e.g. ``features.3.squeeze``)."""
    return next(n for n, m in model.named_modules() if m is conv)


def forward_blocks(model: SqueezeNet) -> list[nn.Module]:
    """Top-level modules in forward order: run one after another, they compute the model
    (up to the final flatten), so activations can be carried from block to block."""
    return [*model.features, *model.classifier]
