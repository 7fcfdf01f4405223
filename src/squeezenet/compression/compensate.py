"""Error-compensated weight sharing: GPTQ/OBQ (Frantar et al., 2022) over a k-means codebook.

Rounding each weight to its nearest centroid ignores what the layer computes. Given the inputs
the layer sees on calibration images (``H = X X^T`` over im2col columns), the weights are
assigned one input column at a time, most active first, and each column's rounding error is
pushed onto the columns not yet assigned in the direction that least changes the layer's
output (the Cholesky factor of ``H^-1``). Pruned weights are "rounded" to zero the same way,
so the pruning error is compensated too.

Three refinements decide most of the accuracy below 6 bits:

- **Channel scales.** One codebook per layer, stretched per output channel (``scale x
  codebook[index]``, the ``.sqz`` format's scaled layers): each filter's largest weight sets its
  range, as per-channel int8 does, while the layer keeps one code table.
- **The fp32 output as the target.** Layers are assigned in forward order on the activations of
  the already-shared layers before them (``X_q``), but the target is what the uncompressed layer
  computed on the uncompressed activations (``X``): minimising ``|W X - Q X_q|`` is GPTQ on
  ``W* = W X X_q^T H^-1`` (with ``H = X_q X_q^T``), so each layer also repairs the error that
  reaches it, instead of fitting ``W`` to inputs that have already drifted.
- **Never worse than rounding.** Per layer, the compensated and the nearest-centroid assignment
  are both scored by that output error on the calibration images and the lower one is kept,
  so at 8 bits, where rounding is already near exact, compensation cannot add error.

Hand-written because no library we depend on applies GPTQ to convolutions with a shared
non-uniform codebook, a fixed prune mask and Huffman-coded indices (brevitas and aimet-torch
quantize to uniform grids and write no ``.sqz``); the algebra is a few lines of torch.linalg.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..models import SqueezeNet
from ..utils.progress import progress as progress_bar
from .cluster import Codebook, kmeans_codebook
from .layers import forward_blocks, named_convs

DAMPING = 0.01  # of the mean diagonal of H, as in GPTQ: keeps H^-1 well conditioned
BATCH = 25  # images per forward pass while collecting statistics


@dataclass
class Assignment:
    """One layer's sharing: weight = [scale x] codebook[index] * mask, and how it was chosen."""

    codebook: torch.Tensor  # float32, ascending
    index: torch.Tensor  # long, the weight's shape
    scale: torch.Tensor | None  # float32 per output channel, or None
    method: str  # "compensated" or "nearest": which scored the lower output error
    error: float  # relative output error of the chosen assignment on the calibration images

    def weight(self, mask: torch.Tensor) -> torch.Tensor:
        values = self.codebook[self.index]
        if self.scale is not None:
            values = values * self.scale.view(-1, *[1] * (values.dim() - 1))
        return values * mask


class _Seen(Exception):
    """Raised by the last hook of a group: the rest of the forward pass is not needed."""


def _columns(block: nn.Module, convs: dict[str, nn.Conv2d], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The im2col columns (one per output position) each of ``convs`` reads while ``block`` runs
    on ``x``; the pass stops once every conv has seen its input."""
    columns: dict[str, torch.Tensor] = {}

    def hook(name: str, conv: nn.Conv2d):
        def keep(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            cols = F.unfold(inputs[0], conv.kernel_size, conv.dilation, conv.padding, conv.stride)
            columns[name] = cols.transpose(0, 1).reshape(cols.shape[1], -1)
            if len(columns) == len(convs):
                raise _Seen

        return keep

    handles = [conv.register_forward_hook(hook(name, conv)) for name, conv in convs.items()]
    try:
        block(x)
    except _Seen:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return columns


@torch.no_grad()
def input_statistics(
    reference: nn.Module,
    reference_convs: dict[str, nn.Conv2d],
    block: nn.Module,
    convs: dict[str, nn.Conv2d],
    x_reference: torch.Tensor,
    x: torch.Tensor,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per conv, ``(H, C)``: ``H = X_q X_q^T / n`` over the columns it reads in ``block`` on
    ``x``, and ``C = X X_q^T / n`` with ``X`` what the same conv of the uncompressed
    ``reference`` block reads on ``x_reference``."""
    sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    count = 0
    for start in range(0, len(x), BATCH):
        seen = _columns(block, convs, x[start : start + BATCH])
        wanted = _columns(reference, reference_convs, x_reference[start : start + BATCH])
        for name, cols in seen.items():  # float32 products per batch (fast kernels), summed in float64
            h, c = sums.get(name, (0, 0))
            sums[name] = (h + (cols @ cols.T).double(), c + (wanted[name] @ cols.T).double())
        count += next(iter(seen.values())).shape[1]
    return {name: (h / count, c / count) for name, (h, c) in sums.items()}


@torch.no_grad()
def input_hessians(model: nn.Module, convs: dict[str, nn.Conv2d], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """``X X^T / n`` per conv over the columns it reads while ``model`` runs on ``images``."""
    sums: dict[str, torch.Tensor] = {}
    count: dict[str, int] = {}
    for start in range(0, len(images), BATCH):
        for name, cols in _columns(model, convs, images[start : start + BATCH]).items():
            sums[name] = sums.get(name, 0) + (cols @ cols.T).double()
            count[name] = count.get(name, 0) + cols.shape[1]
    return {name: h / count[name] for name, h in sums.items()}


def input_groups(names: list[str]) -> list[list[str]]:
    """Layers in forward order, grouped by the tensor they read (a Fire's two expands share one)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        prefix, _, kind = name.rpartition("/")
        groups.setdefault(f"{prefix}/expand" if kind.startswith("expand") else name, []).append(name)
    return list(groups.values())


@torch.no_grad()
def _run(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    return torch.cat([module(inputs[i : i + BATCH]) for i in range(0, len(inputs), BATCH)])


@torch.no_grad()
def compensated_assignment(
    reference: SqueezeNet,
    model: SqueezeNet,
    masks: dict[str, torch.Tensor],
    bits: dict[str, int],
    scaled: dict[str, bool],
    images: torch.Tensor,
    rate_weight: float = 0.0,
    progress: bool = True,
) -> dict[str, Assignment]:
    """Share every conv of ``model`` at its ``bits``, its codebook ``scaled`` per channel or not,
    in forward order, each against what the same conv of the uncompressed ``reference`` computes;
    ``model``'s convs are left holding their shared weights."""
    assignment = {}
    x_reference = x = images
    convs, reference_convs = named_convs(model), named_convs(reference)
    bar = progress_bar(len(convs), "compensate", "layer", quiet=not progress)
    for fp_block, block in zip(forward_blocks(reference), forward_blocks(model)):
        inside = {id(m) for m in block.modules()}
        names = [name for name, conv in convs.items() if id(conv) in inside]
        for group in input_groups(names):
            stats = input_statistics(
                fp_block, {n: reference_convs[n] for n in group}, block, {n: convs[n] for n in group}, x_reference, x
            )
            for name in group:
                weight = convs[name].weight
                shared = assign_layer(weight, masks[name], bits[name], *stats[name], rate_weight, scaled[name])
                weight.copy_(shared.weight(masks[name]))
                assignment[name] = shared
                bar.update()
        x_reference, x = _run(fp_block, x_reference), _run(block, x)
    bar.close()
    return assignment


def channel_scale(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each output channel's largest surviving magnitude (1 for an all-zero channel), in float16."""
    rows = (weight * mask).reshape(len(weight), -1).abs().amax(1)
    return torch.where(rows > 0, rows, torch.ones_like(rows)).half().float()


@torch.no_grad()
def assign_layer(
    weight: torch.Tensor,
    mask: torch.Tensor,
    bits: int,
    hessian: torch.Tensor,
    cross: torch.Tensor,
    rate_weight: float = 0.0,
    channel_scales: bool = True,
) -> Assignment:
    """One layer, given ``H = X_q X_q^T`` and ``C = X X_q^T``: the codebook (k-means over the
    scaled surviving weights), then compensated and nearest indices, the lower output error kept."""
    w, keep, scale, rows, codebook = _layer_codebook(weight, mask, bits, rate_weight, channel_scales)
    h = _damped(hessian)
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(h))
    target = w + (w @ (cross - hessian)) @ inverse if not torch.equal(cross, hessian) else w
    candidates = {
        "compensated": _compensated_labels(target, keep, h.diagonal(), inverse, rows[:, 0], codebook),
        "nearest": torch.where(keep, codebook.assign(w / rows), 0),
    }
    floor = float(torch.einsum("ij,jk,ik->", w, hessian, w)) or 1.0
    values, errors = codebook.values.double(), {}
    for method, labels in candidates.items():
        residual = target - rows * values[labels] * keep
        errors[method] = float(torch.einsum("ij,jk,ik->", residual, h, residual)) / floor
    method = min(errors, key=errors.get)
    index = torch.where(keep, candidates[method], 0).reshape(weight.shape)
    return Assignment(codebook.values, index, scale, method, errors[method])


def nearest_layer(
    weight: torch.Tensor, mask: torch.Tensor, bits: int, rate_weight: float = 0.0, channel_scales: bool = True
) -> Assignment:
    """Deep Compression's sharing, no images needed: k-means over the (scaled) surviving weights,
    each assigned by the codebook's own rule (its nearest centroid, or with a rate weight the
    least error + lambda x code length)."""
    w, keep, scale, rows, codebook = _layer_codebook(weight, mask, bits, rate_weight, channel_scales)
    index = torch.where(keep, codebook.assign(w / rows), 0)
    return Assignment(codebook.values, index.reshape(weight.shape), scale, "nearest", float("nan"))


def _layer_codebook(
    weight: torch.Tensor, mask: torch.Tensor, bits: int, rate_weight: float, channel_scales: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor, Codebook]:
    """(weights as out x columns in float64, their mask, the channel scales or None, the scale
    each row is divided by, the codebook of the scaled surviving weights)."""
    scale = channel_scale(weight, mask) if channel_scales else None
    w = weight.detach().reshape(len(weight), -1).double()
    keep = mask.reshape(len(weight), -1)
    rows = scale.double()[:, None] if scale is not None else torch.ones(len(w), 1, dtype=torch.float64)
    return w, keep, scale, rows, kmeans_codebook((w / rows)[keep], bits, rate_weight)


def _damped(hessian: torch.Tensor) -> torch.Tensor:
    h = hessian.clone()
    dead = h.diagonal() == 0
    h[dead, dead] = 1.0
    h.diagonal().add_(DAMPING * h.diagonal().mean())
    return h


def _compensated_labels(
    target: torch.Tensor,
    keep: torch.Tensor,
    activity: torch.Tensor,
    inverse: torch.Tensor,
    scale: torch.Tensor,
    codebook: Codebook,
) -> torch.Tensor:
    """Codebook index per weight of ``target`` (out x columns), columns assigned most active
    first (``activity``: H's diagonal), each column's error pushed onto the rest through the
    Cholesky factor of ``H^-1`` (``inverse``; permuting H permutes its inverse alike); masked-out
    weights are rounded to zero (their index is the caller's to ignore)."""
    order = torch.argsort(activity, descending=True)
    u = torch.linalg.cholesky(inverse[order][:, order], upper=True)
    values = codebook.values.double()
    rows, keep = target[:, order].T.contiguous(), keep[:, order].T  # one row per input column
    labels = torch.zeros_like(rows, dtype=torch.long)
    for i in range(rows.shape[0]):
        labels[i] = codebook.assign(rows[i] / scale)
        rounded = torch.where(keep[i], scale * values[labels[i]], torch.zeros_like(rows[i]))
        error = (rows[i] - rounded) / u[i, i]
        rows[i + 1 :] -= u[i, i + 1 :, None] * error[None, :]
    unordered = torch.empty_like(labels.T)
    unordered[:, order] = labels.T
    return unordered
