"""The 1000 ImageNet-1k class names, in index order, as torchvision publishes them."""

from __future__ import annotations

import functools

IMAGENET_CLASS_COUNT = 1000
IMAGENET_MARKER = "imagenet"
# what names torchvision's published ImageNet weights, in our word and in torchvision's
PUBLISHED_NAMES = ("imagenet", "DEFAULT", "IMAGENET1K_V1")  # how a .sqz header names this list instead of carrying it


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    from torchvision.models import SqueezeNet1_1_Weights  # only where a model with these classes is used

    return tuple(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_classes(num_classes: int) -> list[str] | None:
    """The ImageNet names for a 1000-class head, else None (the file knows no names)."""
    return list(imagenet_class_names()) if num_classes == IMAGENET_CLASS_COUNT else None


def folder_names(classes: list[str] | None) -> list[str] | None:
    """The names data folders are matched to: a model fine-tuned on ``ants/ bees/`` knows them;
    ImageNet's human-readable names are not folder names (its folders are wnids), so None."""
    if classes is None or classes == imagenet_classes(len(classes)):
        return None
    return classes
