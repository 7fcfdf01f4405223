"""A deployment graph for AMX int8: each Fire module's two expand convolutions as one.

A Fire module ends in two parallel convolutions (expand 1x1, expand 3x3) whose outputs are
concatenated. A 1x1 convolution is a 3x3 one whose kernel is zero except at the centre, so
both fit in a single 3x3 convolution with ``e1x1 + e3x3`` output channels, the 1x1 filters
first: the same function (equal up to summation order), one convolution instead of two, and no
concatenation. OpenVINO runs that concatenation with a reference kernel in int8 (a visible share of
batch-1 time in its profile) and cannot write it in place in its channels-last layout.

The fused graph costs 1.8x the expand multiply-adds, so it pays only where int8 convolutions
are bound by per-layer overhead rather than arithmetic: with OpenVINO int8 on AMX (faster at
batch 1 and 32), not on AVX-512 VNNI or AVX2 kernels, nor with ONNX Runtime
(``docs/results/deploy-*.md``, one page per CPU class); ``export --format auto`` times both where it matters.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models.fire import Fire


class FusedExpandFire(nn.Module):
    """squeeze 1x1 -> ReLU -> expand 3x3 holding both expand branches -> ReLU (+ bypass)."""

    def __init__(self, fire: Fire) -> None:
        super().__init__()
        if fire.squeeze_bn is not None:
            raise ValueError("fold the batch norm first (models.fold.fold_batch_norm): saved models have it folded")
        self.squeeze, self.bypass, self.shortcut = fire.squeeze, fire.bypass, fire.shortcut
        e1, e3 = fire.expand1x1, fire.expand3x3
        self.expand = nn.Conv2d(e1.in_channels, e1.out_channels + e3.out_channels, kernel_size=3, padding=1)
        with torch.no_grad():
            weight = torch.zeros_like(self.expand.weight)
            weight[: e1.out_channels, :, 1, 1] = e1.weight[:, :, 0, 0]
            weight[e1.out_channels :] = e3.weight
            self.expand.weight.copy_(weight)
            self.expand.bias.copy_(torch.cat([e1.bias, e3.bias]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.expand(torch.relu(self.squeeze(x))))
        if self.bypass == "identity":
            out = out + x
        elif self.shortcut is not None:
            out = out + self.shortcut(x)
        return out


def fuse_expands(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every Fire module fused; ``model`` is untouched."""
    fused = copy.deepcopy(model).eval()
    for parent in fused.modules():
        for name, child in parent.named_children():
            if isinstance(child, Fire):
                setattr(parent, name, FusedExpandFire(child))
    return fused
