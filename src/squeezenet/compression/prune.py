"""Magnitude pruning with fixed masks (torch.nn.utils.prune), per layer density, in one or more steps."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune


def apply_pruning(convs: dict[str, nn.Conv2d], densities: dict[str, float]) -> None:
    """Prune each layer down to its density, by smallest magnitude among the weights still alive.

    Called again on a pruned layer it prunes further: torch's PruningContainer applies an integer
    ``amount`` to the surviving entries only, so earlier masks stay and masks only ever shrink.
    """
    for name, conv in convs.items():
        alive = int(conv.weight_mask.sum()) if prune.is_pruned(conv) else conv.weight.numel()
        target = max(1, round(densities[name] * conv.weight.numel()))  # a density > 0 keeps a weight
        if target < alive:
            prune.l1_unstructured(conv, "weight", amount=alive - target)


def density_schedule(final: dict[str, float], stages: int) -> list[dict[str, float]]:
    """Densities after each of ``stages`` pruning steps: Zhu & Gupta's cubic schedule (2017),
    which prunes fast while many redundant weights remain and gently near the target."""
    return [{n: d + (1.0 - d) * (1.0 - i / stages) ** 3 for n, d in final.items()} for i in range(1, stages + 1)]


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
