"""The SqueezeNet network, built from a ``SqueezeNetConfig``.

The module tree mirrors torchvision's (``features`` then ``classifier``), so
``features.0.weight`` ... ``classifier.1.bias`` load unchanged in either direction.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import POOL_GEOMETRY, SqueezeNetConfig
from .fire import Fire


def _max_pool(pool: str) -> nn.MaxPool2d:
    # Caffe rounds pooled sizes up; ceil_mode reproduces that (55 -> 27 -> 13 at 224 px).
    kernel, stride, ceil = POOL_GEOMETRY[pool]
    return nn.MaxPool2d(kernel_size=kernel, stride=stride, ceil_mode=ceil)


class SqueezeNet(nn.Module):
    def __init__(self, config: SqueezeNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or SqueezeNetConfig()
        cfg = self.config
        kernel, stride, padding = cfg.conv1_geometry()
        layers: list[nn.Module] = [
            nn.Conv2d(cfg.in_channels, cfg.conv1_filters, kernel, stride=stride, padding=padding),
            nn.ReLU(inplace=True),
        ]
        pools = cfg.pools_after()
        if "conv1" in pools:
            layers.append(_max_pool(cfg.pool))
        elif cfg.stem == "strided":
            layers.append(nn.Identity())  # where the pool was: every key keeps torchvision's position
        norm = cfg.norm == "squeeze"
        for name, inplanes, (s, e1, e3) in zip(cfg.fire_names(), cfg.fire_inputs(), cfg.fire_widths()):
            layers.append(Fire(inplanes, s, e1, e3, bypass=cfg.bypass_kind(name), norm=norm))
            if name in pools:
                layers.append(_max_pool(cfg.pool))
        self.features = nn.Sequential(*layers)
        last = cfg.fire_widths()[-1]
        conv10 = nn.Conv2d(last[1] + last[2], cfg.num_classes, kernel_size=1, padding=cfg.conv10_pad)
        self.classifier = nn.Sequential(
            nn.Dropout(p=cfg.dropout), conv10, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        self.reset_parameters()

    @property
    def final_conv(self) -> nn.Conv2d:
        """conv10, kept inside ``classifier`` so the state-dict key is ``classifier.1``."""
        return self.classifier[1]

    def reset_parameters(self) -> None:
        """He-uniform convolutions, zero biases, conv10 ~ N(0, 0.01) as in the paper's release."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is self.final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)

    def named_layers(self) -> list[tuple[str, nn.Module]]:
        """The paper's layer names (conv1, fire2 .. fire9, conv10) with their modules."""
        fires = [m for m in self.features if isinstance(m, Fire)]
        return [("conv1", self.features[0]), *zip(self.config.fire_names(), fires), ("conv10", self.final_conv)]
