"""Error-compensated weight sharing: GPTQ/OBQ (Frantar et al., 2022) with a k-means codebook.

Rounding each weight to its nearest centroid ignores what the layer computes. Given the inputs
the layer sees on calibration images (``H = X X^T`` over im2col columns), the weights are
assigned one input column at a time, most active first, and each column's rounding error is
pushed onto the columns not yet assigned in the direction that least changes the layer's
output (the Cholesky factor of ``H^-1``). Pruned weights are "rounded" to zero the same way,
so the pruning error is compensated too. Hand-written because no library we depend on applies
GPTQ to convolutions with a non-uniform codebook and a fixed prune mask; the algebra is a few
lines of torch.linalg.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.progress import progress as progress_bar
from .cluster import nearest_assignment

DAMPING = 0.01  # of the mean diagonal of H, as in GPTQ: keeps H^-1 well conditioned


class _Seen(Exception):
    """Raised by the last hook of a group: the rest of the forward pass is not needed."""


@torch.no_grad()
def input_hessians(
    module: nn.Module, convs: dict[str, nn.Conv2d], inputs: torch.Tensor, batch_size: int = 25
) -> dict[str, torch.Tensor]:
    """``X X^T / n`` over the im2col columns each of ``convs`` sees while ``module`` runs on ``inputs``.

    Each batch stops as soon as every conv has seen it, so early layers cost a fraction of a pass.
    """
    hessians: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    seen: set[str] = set()

    def hook(name: str, conv: nn.Conv2d):
        def accumulate(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            cols = F.unfold(inputs[0], conv.kernel_size, conv.dilation, conv.padding, conv.stride)
            cols = cols.transpose(0, 1).reshape(cols.shape[1], -1).double()
            hessians[name] = hessians.get(name, 0) + cols @ cols.T
            counts[name] = counts.get(name, 0) + cols.shape[1]
            seen.add(name)
            if len(seen) == len(convs):
                raise _Seen

        return accumulate

    handles = [conv.register_forward_hook(hook(name, conv)) for name, conv in convs.items()]
    try:
        module.eval()
        for start in range(0, len(inputs), batch_size):
            seen.clear()
            try:
                module(inputs[start : start + batch_size])
            except _Seen:
                pass
    finally:
        for handle in handles:
            handle.remove()
    return {name: h / counts[name] for name, h in hessians.items()}


def _input_groups(names: list[str]) -> list[list[str]]:
    """Layers in forward order, grouped by the tensor they read (a Fire's two expands share one)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        prefix, _, kind = name.rpartition("/")
        groups.setdefault(f"{prefix}/expand" if kind.startswith("expand") else name, []).append(name)
    return list(groups.values())


@torch.no_grad()
def _run(module: nn.Module, inputs: torch.Tensor, batch_size: int = 25) -> torch.Tensor:
    return torch.cat([module(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])


@torch.no_grad()
def compensated_assignment(
    blocks: list[nn.Module],
    convs: dict[str, nn.Conv2d],
    masks: dict[str, torch.Tensor],
    bits: dict[str, int],
    images: torch.Tensor,
    rate_weight: float = 0.0,
    progress: bool = True,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(codebook, index) per layer, assigned in forward order. ``blocks`` run one after another
    compute the model; each layer is calibrated on the inputs it gets once every layer before it
    is shared (their activations are carried block to block), so it also absorbs their errors."""
    assignment = {}
    x = images
    bar = progress_bar(len(convs), "compensate", "layer", quiet=not progress)
    for block in blocks:
        inside = {id(m) for m in block.modules()}
        names = [name for name, conv in convs.items() if id(conv) in inside]
        for group in _input_groups(names):
            hessians = input_hessians(block, {n: convs[n] for n in group}, x)
            for name in group:
                weight, mask = convs[name].weight, masks[name]
                codebook, _ = nearest_assignment(weight, bits[name], mask, rate_weight)
                index = compensated_labels(weight, hessians[name], codebook, mask)
                weight.copy_(codebook[index] * mask)
                assignment[name] = (codebook, index)
                bar.update()
        x = _run(block, x)
    bar.close()
    return assignment


@torch.no_grad()
def compensated_labels(
    weight: torch.Tensor, hessian: torch.Tensor, centroids: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Codebook index per weight (shape of ``weight``); masked-out weights become zero instead.

    ``centroids`` are ascending; the caller stores pruned weights as zeros whatever their index.
    """
    out_channels = weight.shape[0]
    w = weight.reshape(out_channels, -1).double().clone()
    keep = mask.reshape(out_channels, -1)
    h = hessian.clone()
    dead = h.diagonal() == 0
    h[dead, dead] = 1.0
    h.diagonal().add_(DAMPING * h.diagonal().mean())
    order = torch.argsort(h.diagonal(), descending=True)
    w, keep, h = w[:, order], keep[:, order], h[order][:, order]
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)

    codebook = centroids.double()
    midpoints = (codebook[1:] + codebook[:-1]) / 2
    rows, keep = w.T.contiguous(), keep.T  # one row per input column: contiguous slices below
    labels = torch.zeros_like(rows, dtype=torch.long)
    for i in range(rows.shape[0]):
        labels[i] = torch.bucketize(rows[i], midpoints)
        rounded = torch.where(keep[i], codebook[labels[i]], torch.zeros_like(rows[i]))
        error = (rows[i] - rounded) / u[i, i]
        rows[i + 1 :] -= u[i, i + 1 :, None] * error[None, :]
    labels = labels.T
    unordered = torch.empty_like(labels)
    unordered[:, order] = labels
    return unordered.reshape(weight.shape)
