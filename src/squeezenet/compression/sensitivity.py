"""Choose bits per layer by measured sensitivity, to fit a size budget.

Each layer alone is weight-shared at each candidate bit width; the damage is the KL
divergence between the original model's and the modified model's outputs on a few
unlabelled images. Starting from the widest code, the layer whose next narrowing costs the
least damage per byte saved is narrowed, until the estimated file fits the budget. File
sizes are estimated from the index entropy, which Huffman coding approaches within a few
percent.
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
from .cluster import kmeans_1d

CANDIDATE_BITS = (8, 7, 6, 5, 4)


def _entropy_bytes(labels: np.ndarray, k: int) -> float:
    """The index stream at its entropy, plus the codebook as the file stores it."""
    counts = np.bincount(labels, minlength=k)
    p = counts[counts > 0] / len(labels)
    return float(-(p * np.log2(p)).sum() * len(labels) / 8 + STORED_BYTES * k)


@dataclass
class Sensitivity:
    """Per (layer, bits): the damage of sharing that layer alone, and its estimated bytes."""

    damage: dict[tuple[str, int], float]
    size: dict[tuple[str, int], float]


@torch.no_grad()
def measure(
    model: nn.Module,
    convs: dict[str, nn.Conv2d],
    masks: dict[str, torch.Tensor],
    images: torch.Tensor,
    rate_weight: float = 0.0,
    progress: bool = False,
) -> Sensitivity:
    """Share each layer alone at each candidate width; measured once, then ``choose_bits`` may be
    asked for several budgets."""
    model.eval()
    reference = F.log_softmax(model(images), dim=1)
    table = Sensitivity({}, {})
    for name, conv in track(convs.items(), len(convs), "sensitivity", "layer", quiet=not progress):
        original = conv.weight.detach().clone()
        mask = masks[name]
        values = original[mask].double().numpy()
        for bits in CANDIDATE_BITS:
            centroids, labels = kmeans_1d(values, 2**bits, rate_weight=rate_weight)
            shared = torch.zeros_like(original)
            shared[mask] = torch.from_numpy(centroids[labels]).float()
            conv.weight.copy_(shared)
            out = F.log_softmax(model(images), dim=1)
            table.damage[name, bits] = float(F.kl_div(out, reference, log_target=True, reduction="batchmean"))
            table.size[name, bits] = _entropy_bytes(labels, len(centroids))
        conv.weight.copy_(original)
    return table


def choose_bits(table: Sensitivity, names: list[str], budget_bytes: int, fixed_bytes: int) -> dict[str, int]:
    """Bits per layer whose estimated total (``fixed_bytes`` plus indices) fits ``budget_bytes``:
    from the widest code, narrow the layer that loses least damage per byte saved, until it fits."""
    bits = {name: CANDIDATE_BITS[0] for name in names}
    total = fixed_bytes + sum(table.size[n, b] for n, b in bits.items())
    while total > budget_bytes:
        options = []
        for name, b in bits.items():
            i = CANDIDATE_BITS.index(b)
            if i + 1 < len(CANDIDATE_BITS):
                nb = CANDIDATE_BITS[i + 1]
                saved = table.size[name, b] - table.size[name, nb]
                options.append(((table.damage[name, nb] - table.damage[name, b]) / max(saved, 1e-9), name, nb, saved))
        if not options:
            raise OptionError(
                "size_budget", f"{budget_bytes:,} bytes: no bit allocation fits; prune more ({{density}})", "density"
            )
        _, name, nb, saved = min(options)
        bits[name] = nb
        total -= saved
    return bits
