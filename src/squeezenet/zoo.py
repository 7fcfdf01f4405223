"""The model zoo: builders with torchvision's signature (``weights=``) and timm's
``create_model``, for every registered architecture.

They sit above ``models`` (the modules) and ``formats`` (the weight readers) because they use
both: a builder without weights is the bare module; with weights, the file decides the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .errors import SqueezeNetError
from .formats.loaded import LoadedModel
from .formats.weights import load_model
from .models import SqueezeNet, arch_config
from .models.names import CONV10

__all__ = ["LoadedModel", "create_model", "load_model", "load_pretrained", "squeezenet1_0", "squeezenet1_1"]


def create_model(
    name: str,
    pretrained: bool | str | Path = False,
    num_classes: int | None = None,
    weights: str | Path | None = None,
    **overrides: Any,
) -> SqueezeNet:
    """timm's ``create_model``: ``name`` randomly initialised, or with ``pretrained`` weights (True:
    torchvision's ImageNet weights; a path: that file; ``weights=`` is the same, torchvision's
    word, and takes its names ``"DEFAULT"`` and ``"IMAGENET1K_V1"`` too). When ``num_classes``
    differs from the weights' head, conv10 is replaced (N(0, 0.01)) and every other tensor kept.

    A pretrained model carries what its weights expect and mean, as torchvision's weight enums
    do: ``model.preprocess`` (the input convention), ``model.transform`` (PIL image -> input
    tensor) and ``model.classes`` (names, or None for a new head)."""
    source = weights if weights is not None else ("imagenet" if pretrained is True else pretrained or None)
    if source is None:
        return SqueezeNet(arch_config(name, num_classes=num_classes, **overrides))
    loaded = load_model(source, arch=arch_config(name, **overrides), arch_name=name)
    if num_classes is None or num_classes == loaded.config.num_classes:
        model, classes = loaded.model, loaded.classes
    else:
        model, classes = SqueezeNet(loaded.config.replace(num_classes=num_classes)), None
        load_pretrained(model, loaded, keep_head=False)
    model.preprocess, model.transform, model.classes = loaded.preprocess, loaded.transform, classes
    return model.eval()


def load_pretrained(model: SqueezeNet, pretrained: LoadedModel, keep_head: bool) -> None:
    """Copy the pretrained tensors into ``model``, bit for bit; unless ``keep_head``, conv10 is
    initialised anew as the paper's release does, N(0, 0.01) with zero bias."""
    state = pretrained.model.state_dict()
    if not keep_head:
        state = {k: v for k, v in state.items() if not k.startswith(f"{CONV10}.")}
        with torch.no_grad():
            torch.nn.init.normal_(model.final_conv.weight, mean=0.0, std=0.01)
            torch.nn.init.zeros_(model.final_conv.bias)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith(f"{CONV10}.") for k in missing):
        raise SqueezeNetError(f"the pretrained weights do not fit the model ({(unexpected or missing)[0]})")


def squeezenet1_0(weights: str | Path | None = None, num_classes: int | None = None, **overrides: Any) -> SqueezeNet:
    """SqueezeNet v1.0 (Table 1 of the paper): 1,248,424 parameters at 1000 classes."""
    return create_model("squeezenet1_0", weights=weights, num_classes=num_classes, **overrides)


def squeezenet1_1(weights: str | Path | None = None, num_classes: int | None = None, **overrides: Any) -> SqueezeNet:
    """SqueezeNet v1.1 (2.4x less computation than v1.0): 1,235,496 parameters at 1000 classes."""
    return create_model("squeezenet1_1", weights=weights, num_classes=num_classes, **overrides)
