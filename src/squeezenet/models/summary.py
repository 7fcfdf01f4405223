"""The Table 1 view of a model: per paper layer, output shape, widths, parameters and MACs.

Shapes come from one forward pass on the meta device (no memory, no compute), so the table
is computed from the module that runs, not from a parallel formula.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import SqueezeNetError
from .fire import Fire
from .squeezenet import SqueezeNet

ALEXNET_BYTES = 240_000_000  # AlexNet's fp32 model size as the paper states it (Table 2)


@dataclass
class LayerRow:
    name: str
    output: tuple[int, int, int]  # H, W, C as in the paper's table
    s1x1: int | None
    e1x1: int | None
    e3x3: int | None
    params: int
    macs: int


@dataclass
class ModelSummary:
    layers: list[LayerRow]
    input_size: int
    total_params: int
    total_macs: int
    size_bytes: int  # fp32

    @property
    def alexnet_ratio(self) -> float:
        return ALEXNET_BYTES / self.size_bytes

    def to_dict(self) -> dict:
        return {
            "input_size": self.input_size,
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "size_bytes": self.size_bytes,
            "alexnet_bytes": ALEXNET_BYTES,
            "alexnet_ratio": self.alexnet_ratio,
            "layers": [asdict(row) for row in self.layers],
        }


def conv_macs(conv: nn.Conv2d, output: torch.Tensor) -> int:
    kh, kw = conv.kernel_size
    return output.shape[-1] * output.shape[-2] * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw


def summarize(model: SqueezeNet, input_size: int = 224) -> ModelSummary:
    """Per-layer table for one image of ``input_size`` pixels square."""
    meta = SqueezeNet(model.config).to("meta")
    macs: dict[nn.Module, int] = {}
    shapes: dict[nn.Module, tuple[int, int, int]] = {}
    hooks = []
    for m in meta.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda mod, _i, out: macs.__setitem__(mod, conv_macs(mod, out))))
    for _, m in meta.named_layers():
        hooks.append(
            m.register_forward_hook(
                lambda mod, _i, out: shapes.__setitem__(mod, (out.shape[2], out.shape[3], out.shape[1]))
            )
        )
    try:
        if input_size < 1:
            raise RuntimeError
        with torch.no_grad():
            meta(torch.empty(1, model.config.in_channels, input_size, input_size, device="meta"))
    except RuntimeError:  # a kernel larger than what is left of the image
        raise SqueezeNetError(
            f"--input-size {input_size}: too small for this architecture (its layers shrink it below one pixel)"
        ) from None
    for h in hooks:
        h.remove()
    rows = []
    for name, m in meta.named_layers():
        params = sum(p.numel() for p in m.parameters())
        layer_macs = sum(macs[c] for c in m.modules() if isinstance(c, nn.Conv2d))
        widths = (
            (m.squeeze.out_channels, m.expand1x1.out_channels, m.expand3x3.out_channels)
            if isinstance(m, Fire)
            else (None, None, None)
        )
        rows.append(LayerRow(name, shapes[m], *widths, params=params, macs=layer_macs))
    total_params = sum(p.numel() for p in model.parameters())
    return ModelSummary(rows, input_size, total_params, sum(r.macs for r in rows), 4 * total_params)


def format_table(summary: ModelSummary) -> str:
    head = f"{'layer':<8} {'output':>14} {'s1x1':>5} {'e1x1':>5} {'e3x3':>5} {'params':>11} {'MACs':>14}"
    lines = [head, "-" * len(head)]
    for r in summary.layers:
        out = "x".join(str(v) for v in r.output)
        cells = [str(v) if v is not None else "" for v in (r.s1x1, r.e1x1, r.e3x3)]
        lines.append(f"{r.name:<8} {out:>14} {cells[0]:>5} {cells[1]:>5} {cells[2]:>5} {r.params:>11,} {r.macs:>14,}")
    lines.append("-" * len(head))
    lines.append(f"{'total':<8} {'':>14} {'':>5} {'':>5} {'':>5} {summary.total_params:>11,} {summary.total_macs:>14,}")
    mb = summary.size_bytes / 1e6
    lines.append(
        f"fp32 size {mb:.2f} MB ({summary.size_bytes:,} bytes); AlexNet 240 MB is {summary.alexnet_ratio:.0f}x larger"
    )
    return "\n".join(lines)
