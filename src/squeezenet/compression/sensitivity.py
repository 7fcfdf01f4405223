"""Choose each layer's width (and whether it stretches its codebook per channel) to fit a size budget.

Each layer alone is weight-shared at each candidate setting, the way ``compress`` will share it
(error-compensated on the layer's input Hessian when ``compensate`` is set, else rounded to the
nearest centroid); the damage is the KL divergence between the original model's and the modified
model's outputs on a few unlabelled images other than those compensation is fitted to
(in-sample, a large layer's fit hides its damage and the budget starves it), and the bytes are the
index stream at its entropy (which Huffman coding approaches within a few percent) plus the
stored codebook and scales. Damages of different layers add, to first order, so the budget is
met the classical rate-distortion way: each layer's settings reduced to the lower convex hull of
(bytes, damage), then, from every layer's largest setting, the step that costs the least damage
per byte saved is taken until the estimated file fits, and the bytes a last large step saved
beyond the budget are given back to the layers whose wider settings buy the most per byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import OptionError
from ..formats.sqz import STORED_BYTES
from ..utils.progress import track
from .compensate import assign_layer, input_hessians, nearest_layer

CANDIDATE_BITS = (8, 7, 6, 5, 4, 3, 2)
IMAGES = 32  # scored per candidate: enough to rank damages, few enough for every setting of every layer


@dataclass(frozen=True)
class Setting:
    bits: int
    scaled: bool  # per-output-channel scales on the codebook


def _entropy_bytes(labels: np.ndarray, stored_values: int) -> float:
    """The index stream at its entropy, plus the codebook (and scales) as the file stores them."""
    counts = np.bincount(labels)
    p = counts[counts > 0] / len(labels)
    return float(-(p * np.log2(p)).sum() * len(labels) / 8 + STORED_BYTES * stored_values)


@dataclass
class Sensitivity:
    """Per layer and setting: the damage of sharing that layer alone, and its estimated bytes."""

    damage: dict[tuple[str, Setting], float]
    size: dict[tuple[str, Setting], float]


@torch.no_grad()
def measure(
    model: nn.Module,
    convs: dict[str, nn.Conv2d],
    masks: dict[str, torch.Tensor],
    images: torch.Tensor,
    rate_weight: float = 0.0,
    scales: tuple[bool, ...] = (False, True),
    compensate: bool = True,
    progress: bool = False,
) -> Sensitivity:
    """Share each layer alone at every candidate width, with and/or without channel scales
    (``scales``); measured once, then ``choose`` may be asked for several budgets. The damage is
    scored on the first ``IMAGES`` images and compensation fits the rest (all of them when there
    are too few to part): scored on the images it was fitted to, a large layer's damage looks
    smaller than it is, and the budget would starve it."""
    model.eval()
    scored, fitted = (images[:IMAGES], images[IMAGES:]) if len(images) >= 2 * IMAGES else (images, images)
    reference = F.log_softmax(model(scored), dim=1)
    hessians = input_hessians(model, convs, fitted) if compensate else {}
    table = Sensitivity({}, {})
    for name, conv in track(convs.items(), len(convs), "sensitivity", "layer", quiet=not progress):
        original = conv.weight.detach().clone()
        mask = masks[name]
        for setting in (Setting(bits, scaled) for bits in CANDIDATE_BITS for scaled in scales):
            if compensate:
                h = hessians[name]
                shared = assign_layer(original, mask, setting.bits, h, h, rate_weight, setting.scaled)
            else:
                shared = nearest_layer(original, mask, setting.bits, rate_weight, setting.scaled)
            conv.weight.copy_(shared.weight(mask))
            out = F.log_softmax(model(scored), dim=1)
            table.damage[name, setting] = float(F.kl_div(out, reference, log_target=True, reduction="batchmean"))
            stored_values = len(shared.codebook) + (0 if shared.scale is None else len(shared.scale))
            table.size[name, setting] = _entropy_bytes(shared.index[mask].numpy(), stored_values)
        conv.weight.copy_(original)
    return table


def _hull(points: list[tuple[float, float, Setting]]) -> list[tuple[float, float, Setting]]:
    """The lower convex hull of (bytes, damage, setting), largest first: the settings worth taking,
    each step down saving bytes at a damage per byte that only grows."""
    hull: list[tuple[float, float, Setting]] = []
    for point in sorted(points, key=lambda p: (p[0], p[1])):  # smallest first, then reversed
        if hull and point[1] >= hull[-1][1]:
            continue  # larger and no less damage than a smaller setting: never worth it
        while len(hull) >= 2 and _turns_left(hull[-2], hull[-1], point):
            hull.pop()
        hull.append(point)
    return hull[::-1]


def _turns_left(a: tuple, b: tuple, c: tuple) -> bool:
    """b lies on or above the segment from a to c (sizes ascending): not on the lower hull."""
    return (b[1] - a[1]) * (c[0] - a[0]) >= (c[1] - a[1]) * (b[0] - a[0])


def choose(table: Sensitivity, names: list[str], budget_bytes: int, fixed_bytes: int) -> dict[str, Setting]:
    """A setting per layer whose estimated total (``fixed_bytes`` plus indices, codebooks and
    scales) fits ``budget_bytes``, by the least damage per byte saved at each step."""
    hulls = {
        name: _hull([(size, table.damage[key], key[1]) for key, size in table.size.items() if key[0] == name])
        for name in names
    }
    at = dict.fromkeys(names, 0)
    total = fixed_bytes + sum(hulls[name][0][0] for name in names)
    while total > budget_bytes:
        steps = [
            ((hulls[n][at[n] + 1][1] - hulls[n][at[n]][1]) / (hulls[n][at[n]][0] - hulls[n][at[n] + 1][0]), n)
            for n in names
            if at[n] + 1 < len(hulls[n])
        ]
        if not steps:
            raise OptionError(
                "size_budget", f"{budget_bytes:,} bytes: no bit allocation fits; prune more ({{density}})", "density"
            )
        _, name = min(steps)
        total -= hulls[name][at[name]][0] - hulls[name][at[name] + 1][0]
        at[name] += 1
    while True:  # the last step may have saved far more than needed: give back what still fits
        ups = [
            ((hulls[n][at[n]][1] - hulls[n][at[n] - 1][1]) / (hulls[n][at[n] - 1][0] - hulls[n][at[n]][0]), n)
            for n in names
            if at[n] > 0 and total + hulls[n][at[n] - 1][0] - hulls[n][at[n]][0] <= budget_bytes
        ]
        if not ups:
            return {name: hulls[name][at[name]][2] for name in names}
        _, name = max(ups)
        total += hulls[name][at[name] - 1][0] - hulls[name][at[name]][0]
        at[name] -= 1
