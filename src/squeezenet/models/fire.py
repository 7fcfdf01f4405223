"""The Fire module (Section 3.2 of the paper), with the optional Section 6 bypass.

Attribute names match torchvision's ``Fire`` so state dicts are interchangeable.
"""

from __future__ import annotations

import torch
from torch import nn


class Fire(nn.Module):
    """squeeze 1x1 -> ReLU -> [expand 1x1 | expand 3x3] -> ReLU -> concat (1x1 first).

    ``bypass`` adds the block input to its output: ``"identity"`` (simple bypass, needs
    equal channel counts) or ``"conv"`` (complex bypass, a 1x1 convolution that matches them).
    ``norm`` puts a batch norm between squeeze and its ReLU (``squeeze_bn``): it lets training
    take a higher rate on SqueezeNet, which has none; ``fold.fold_batch_norm`` removes it again.
    """

    def __init__(
        self,
        inplanes: int,
        squeeze_planes: int,
        expand1x1_planes: int,
        expand3x3_planes: int,
        bypass: str | None = None,
        norm: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_bn = nn.BatchNorm2d(squeeze_planes) if norm else None
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)
        out_planes = expand1x1_planes + expand3x3_planes
        self.bypass = bypass
        if bypass == "identity" and inplanes != out_planes:
            raise ValueError(f"identity bypass needs equal channels, got {inplanes} -> {out_planes}")
        self.shortcut = nn.Conv2d(inplanes, out_planes, kernel_size=1) if bypass == "conv" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        s = self.squeeze_activation(s if self.squeeze_bn is None else self.squeeze_bn(s))
        out = torch.cat(
            [self.expand1x1_activation(self.expand1x1(s)), self.expand3x3_activation(self.expand3x3(s))], dim=1
        )
        if self.bypass == "identity":
            out = out + x
        elif self.shortcut is not None:
            out = out + self.shortcut(x)
        return out
