"""Trained quantization: per-layer weight sharing by 1-D k-means, then centroid fine-tuning.

k-means here is Lloyd's algorithm specialised to one dimension: with the values sorted,
assignment is a binary search against the midpoints between centroids, so an iteration is
O(n log k). scikit-learn's KMeans computes all n x k distances per iteration (about 10 s for
conv10 at 256 clusters on this machine); this reaches the same fixed point from the same
linear initialisation in milliseconds, which keeps compression without retraining in seconds.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ascending, label per value), initialised linearly over [min, max] (Han et al.)."""
    values = np.asarray(values, dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    k = max(1, min(k, len(np.unique(values))))
    centroids = np.linspace(lo, hi, k)
    labels = np.zeros(len(values), dtype=np.int64)
    for _ in range(iterations):
        labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=values, minlength=k)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        if np.allclose(updated, centroids, rtol=0, atol=1e-12):
            break
        centroids = np.sort(updated)
    labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
    return centroids, labels


class SharedWeight(nn.Module):
    """weight = codebook[index] * mask. Indexing's backward sums the gradients of every weight
    in a cluster into its centroid, which is exactly Deep Compression's centroid update."""

    def __init__(self, codebook: torch.Tensor, index: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        self.codebook = nn.Parameter(codebook)
        self.register_buffer("index", index)
        self.register_buffer("mask", mask)

    def forward(self, _original: torch.Tensor) -> torch.Tensor:
        # index_select, not codebook[index]: advanced indexing's backward (index_put_ with
        # accumulate) adds in a thread-dependent order on CPU, which made fine-tuning differ run
        # to run; index_select's backward (index_add_) is deterministic there.
        return self.codebook.index_select(0, self.index.reshape(-1)).view_as(self.index) * self.mask


def nearest_assignment(weight: torch.Tensor, bits: int, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codebook, index per weight): k-means over the weights that survived pruning (``mask``)."""
    centroids, labels = kmeans_1d(weight.detach()[mask].double().numpy(), 2**bits)
    index = torch.zeros(weight.shape, dtype=torch.long)
    index[mask] = torch.from_numpy(labels)
    return torch.from_numpy(centroids).float(), index


def share_weights(conv: nn.Conv2d, codebook: torch.Tensor, index: torch.Tensor, mask: torch.Tensor) -> SharedWeight:
    """Make ``conv.weight`` = codebook[index] * mask, with the codebook trainable."""
    shared = SharedWeight(codebook, torch.where(mask, index, 0), mask.float())
    parametrize.register_parametrization(conv, "weight", shared, unsafe=True)
    conv.parametrizations.weight.original.requires_grad_(False)
    return shared


def unshare_weights(conv: nn.Conv2d) -> None:
    """Replace the parametrization by its current value (codebook[index] * mask, exactly)."""
    parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
