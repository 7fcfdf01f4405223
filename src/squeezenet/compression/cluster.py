"""Trained quantization: per-layer weight sharing by 1-D k-means, then centroid fine-tuning.

k-means here is Lloyd's algorithm specialised to one dimension: with the values sorted,
assignment is a binary search against the midpoints between centroids, so an iteration is
O(n log k). scikit-learn's KMeans computes all n x k distances per iteration, seconds a layer at
256 clusters; this reaches the same fixed point from the same linear initialisation in
milliseconds, which keeps compression without retraining in seconds.

The indices are Huffman-coded, so the file pays each weight's code length, not ``bits``. Plain
k-means (Lloyd-Max) packs centroids where weights are dense, which is optimal at a fixed rate
but raises the entropy the coder pays. ``rate_weight`` > 0 runs entropy-constrained k-means
instead (Chou, Lookabaugh & Gray, 1989): each weight joins the centroid minimising squared
error + lambda x its code length (-log2 of the cluster's share), clusters that empty are
dropped. lambda = rate_weight x (ln 2 / 6) x step^2, with step the spacing of the linear
initialisation: at rate_weight 1, a bit of rate is worth what it buys a uniform quantizer of
that step (dD/dR = -2 ln 2 x step^2 / 12), so ``bits`` still sets the resolution and the
Lagrangian only stops centroids crowding where they cost more bits than they save error
(docs/results/compression.md: a smaller file at the same accuracy).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize


def kmeans_1d(
    values: np.ndarray, k: int, iterations: int = 100, rate_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ascending, label per value), initialised linearly over [min, max] (Han et al.);
    ``rate_weight`` > 0: entropy-constrained (see the module docstring), which may return fewer
    than ``k`` centroids."""
    values = np.asarray(values, dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    k = max(1, min(k, len(np.unique(values))))
    centroids = np.linspace(lo, hi, k)
    lam = _lagrangian(values, k, rate_weight)
    code_bits = np.zeros(k)  # of the previous partition: what joining each cluster costs
    for _ in range(iterations):
        labels = _assign(values, centroids, code_bits, lam)
        counts = np.bincount(labels, minlength=len(centroids))
        sums = np.bincount(labels, weights=values, minlength=len(centroids))
        keep = counts > 0 if lam > 0 else np.ones(len(centroids), dtype=bool)  # plain k-means keeps empty ones in place
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)[keep]
        if len(updated) == len(centroids) and np.allclose(updated, centroids, rtol=0, atol=1e-12):
            break
        order = np.argsort(updated, kind="stable")
        centroids, code_bits = updated[order], -np.log2(np.maximum(counts[keep], 1) / len(values))[order]
    labels = _assign(values, centroids, code_bits, lam)
    if lam == 0:
        return centroids, labels
    used = np.bincount(labels, minlength=len(centroids)) > 0
    return centroids[used], (np.cumsum(used) - 1)[labels]


def _lagrangian(values: np.ndarray, k: int, rate_weight: float) -> float:
    """lambda of the module docstring: rate_weight x (ln 2 / 6) x the linear initialisation's step^2."""
    if k < 2 or rate_weight == 0:
        return 0.0
    return rate_weight * np.log(2) / 6 * ((float(values.max()) - float(values.min())) / (k - 1)) ** 2


def _assign(values: np.ndarray, centroids: np.ndarray, code_bits: np.ndarray, lam: float) -> np.ndarray:
    """argmin_j (v - c_j)^2 + lam * code_bits_j for every value, exactly, in O(n log k)."""
    hull, breaks = _envelope(centroids, code_bits, lam)
    return hull[np.searchsorted(breaks, values)]


def _envelope(centroids: np.ndarray, code_bits: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(codes, breaks): a value between ``breaks[i-1]`` and ``breaks[i]`` costs least at ``codes[i]``.

    Expanded, the cost is v^2 + (c_j^2 + lam b_j) - 2 c_j v: lines in v, so the winners are the
    lower envelope of k lines (the convex hull trick) and each value finds its line by binary
    search over the envelope's breakpoints. With lam = 0 it is nearest-centroid assignment.
    """
    if lam == 0:
        return np.arange(len(centroids)), (centroids[1:] + centroids[:-1]) / 2
    intercepts = centroids**2 + lam * code_bits
    hull: list[int] = []  # centroids ascending = slopes -2c descending, as the envelope needs
    for j in range(len(centroids)):
        if hull and centroids[hull[-1]] == centroids[j]:
            if intercepts[j] >= intercepts[hull[-1]]:
                continue
            hull.pop()
        while len(hull) >= 2 and _crossing(hull[-2], j, centroids, intercepts) <= _crossing(
            hull[-2], hull[-1], centroids, intercepts
        ):
            hull.pop()
        hull.append(j)
    breaks = np.array([_crossing(a, b, centroids, intercepts) for a, b in itertools.pairwise(hull)])
    return np.asarray(hull, dtype=np.int64), breaks


def _crossing(a: int, b: int, centroids: np.ndarray, intercepts: np.ndarray) -> float:
    """The value at which centroid b (larger) starts to cost less than centroid a."""
    return float((intercepts[b] - intercepts[a]) / (2 * (centroids[b] - centroids[a])))


class SharedWeight(nn.Module):
    """weight = [scale x] codebook[index] * mask, ``scale`` one per output channel when given.
    Indexing's backward sums the gradients of every weight in a cluster into its centroid,
    which is exactly Deep Compression's centroid update; the scales train alongside."""

    def __init__(
        self, codebook: torch.Tensor, index: torch.Tensor, mask: torch.Tensor, scale: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.codebook = nn.Parameter(codebook)
        self.scale = None if scale is None else nn.Parameter(scale)
        self.register_buffer("index", index)
        self.register_buffer("mask", mask)

    def forward(self, _original: torch.Tensor) -> torch.Tensor:
        # index_select, not codebook[index]: advanced indexing's backward (index_put_ with
        # accumulate) adds in a thread-dependent order on CPU, which made fine-tuning differ run
        # to run; index_select's backward (index_add_) is deterministic there.
        values = self.codebook.index_select(0, self.index.reshape(-1)).view_as(self.index)
        if self.scale is not None:
            values = values * self.scale.view(-1, *[1] * (values.dim() - 1))
        return values * self.mask


@dataclass
class Codebook:
    """A layer's shared values and the rule that assigns a weight to one: nearest value, or with
    a rate weight, least squared error + lambda x code length (the k-means' own assignment)."""

    values: torch.Tensor  # float32 holding float16 values (as the file stores them), ascending
    codes: torch.Tensor  # long: the index a weight between two consecutive breaks takes
    breaks: torch.Tensor  # float64, ascending

    def assign(self, weights: torch.Tensor) -> torch.Tensor:
        return self.codes[torch.bucketize(weights.double(), self.breaks)]


def kmeans_codebook(values: torch.Tensor, bits: int, rate_weight: float = 0.0) -> Codebook:
    """k-means over ``values`` at ``bits`` (entropy-constrained when ``rate_weight`` > 0), the
    centroids rounded to float16, and the assignment rule for the rounded ones."""
    data = values.detach().double().cpu().numpy()
    centroids, labels = kmeans_1d(data, 2**bits, rate_weight=rate_weight)
    rounded, merged = np.unique(centroids.astype(np.float16).astype(np.float64), return_inverse=True)
    counts = np.bincount(merged[labels], minlength=len(rounded))
    code_bits = -np.log2(np.maximum(counts, 1) / len(data))
    codes, breaks = _envelope(rounded, code_bits, _lagrangian(data, min(2**bits, len(np.unique(data))), rate_weight))
    return Codebook(torch.from_numpy(rounded).float(), torch.from_numpy(codes).long(), torch.from_numpy(breaks))


def share_weights(
    conv: nn.Conv2d,
    codebook: torch.Tensor,
    index: torch.Tensor,
    mask: torch.Tensor,
    scale: torch.Tensor | None = None,
) -> SharedWeight:
    """Make ``conv.weight`` = [scale x] codebook[index] * mask, with codebook and scales trainable."""
    shared = SharedWeight(codebook, torch.where(mask, index, 0), mask.float(), scale)
    parametrize.register_parametrization(conv, "weight", shared, unsafe=True)
    conv.parametrizations.weight.original.requires_grad_(False)
    return shared


def unshare_weights(conv: nn.Conv2d) -> None:
    """Replace the parametrization by its current value (codebook[index] * mask, exactly)."""
    parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
