"""Magnitude pruning with fixed masks (torch.nn.utils.prune), per layer density."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune


def apply_pruning(convs: dict[str, nn.Conv2d], densities: dict[str, float]) -> None:
    """Zero the smallest-magnitude weights of each layer; the mask stays fixed while retraining."""
    for name, conv in convs.items():
        keep = densities[name]
        if keep < 1.0:
            prune.l1_unstructured(conv, "weight", amount=int(round((1.0 - keep) * conv.weight.numel())))


def remove_pruning(convs: dict[str, nn.Conv2d]) -> dict[str, torch.Tensor]:
    """Fold masks into the weights (pruned entries become exact zeros); return the masks.

    A layer left dense gets an all-true mask: its weights that happen to be zero are kept.
    """
    masks = {}
    for name, conv in convs.items():
        if prune.is_pruned(conv):
            masks[name] = conv.weight_mask.detach().bool()
            prune.remove(conv, "weight")
        else:
            masks[name] = torch.ones_like(conv.weight, dtype=torch.bool)
    return masks
