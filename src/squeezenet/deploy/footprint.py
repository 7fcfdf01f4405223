"""On-chip footprint: weight bytes at a precision plus peak activation memory for one image.

Peak activations are computed by liveness over the traced graph (torch.fx): each tensor is
born at its producing op and freed after its last consumer; ops that work in place or only
view their input (ReLU(inplace), Dropout at inference, flatten) allocate nothing. The peak
is the largest sum of live tensors over a sequential schedule, input included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import OptionError, SqueezeNetError
from ..models.names import block_names
from ..models.squeezenet import SqueezeNet
from .precision import BYTES_PER_VALUE, PRECISIONS

ALIASING_MODULES = (nn.ReLU, nn.Dropout)
ALIASING_FUNCTIONS = {torch.flatten}


@dataclass
class Footprint:
    precision: str
    input_size: int
    weight_bytes: int
    peak_activation_bytes: int
    peak_at: str
    budget_bytes: int | None

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.peak_activation_bytes

    @property
    def fits(self) -> bool | None:
        return None if self.budget_bytes is None else self.total_bytes <= self.budget_bytes

    def to_dict(self) -> dict:
        return {**asdict(self), "total_bytes": self.total_bytes, "fits": self.fits}


def _allocates(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        module = gm.get_submodule(str(node.target))
        return not (
            isinstance(module, ALIASING_MODULES)
            and (getattr(module, "inplace", False) or isinstance(module, nn.Dropout))
        )
    if node.op == "call_function":
        return node.target not in ALIASING_FUNCTIONS
    return node.op == "placeholder"


def peak_activations(model: SqueezeNet, input_size: int, bytes_per_value: int) -> tuple[int, str]:
    """(peak live activation bytes, the op at which it occurs) for one image."""
    gm = fx.symbolic_trace(model.eval())
    ShapeProp(gm).propagate(torch.zeros(1, model.config.in_channels, input_size, input_size))
    nodes = list(gm.graph.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    owner: dict[fx.Node, fx.Node] = {}  # node -> the allocation it lives in
    size: dict[fx.Node, int] = {}
    for n in nodes:
        meta = n.meta.get("tensor_meta")
        if meta is None:
            continue
        if _allocates(gm, n):
            owner[n] = n
            size[n] = int(torch.Size(meta.shape).numel()) * bytes_per_value
        else:
            owner[n] = owner[n.args[0]]
    last_use: dict[fx.Node, int] = {}
    for n in nodes:
        for user in n.users:
            alloc = owner.get(n)
            if alloc is not None:
                last_use[alloc] = max(last_use.get(alloc, 0), position[user])
    names = block_names(model.config)
    peak, peak_at, where = 0, "", "input"
    for i, n in enumerate(nodes):
        if n.op == "call_module":
            where = names.get(".".join(str(n.target).split(".")[:2]), str(n.target))
        live = sum(s for a, s in size.items() if position[a] <= i <= last_use.get(a, position[a]))
        if live > peak:
            peak, peak_at = live, where
    return peak, peak_at


def footprint(
    model: SqueezeNet,
    input_size: int,
    precision: str = "fp32",
    budget: int | None = None,
    sqz_file: str | Path | None = None,
) -> Footprint:
    """Weights at ``precision`` (or the real size of a .sqz file) plus peak activations."""
    params = sum(p.numel() for p in model.parameters())
    if precision == "sqz":
        if sqz_file is None or not Path(sqz_file).is_file():
            raise OptionError("precision", "sqz counts a real file's bytes: it needs {weights} FILE.sqz", "weights")
        weight_bytes, act_bytes = Path(sqz_file).stat().st_size, 1  # decoded to int8-coded activations
    elif precision in BYTES_PER_VALUE:
        weight_bytes, act_bytes = params * BYTES_PER_VALUE[precision], BYTES_PER_VALUE[precision]
    else:
        raise SqueezeNetError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    peak, at = peak_activations(model, input_size, act_bytes)
    return Footprint(precision, input_size, weight_bytes, peak, at, budget)


def format_footprint(f: dict) -> str:
    mb = 1e6
    verdict = "" if f["fits"] is None else (" -> fits" if f["fits"] else " -> does NOT fit")
    budget = f" of a {f['budget_bytes'] / mb:.2f} MB budget{verdict}" if f["budget_bytes"] else ""
    return (
        f"footprint at {f['input_size']} px, {f['precision']}: weights {f['weight_bytes'] / mb:.2f} MB + "
        f"peak activations {f['peak_activation_bytes'] / mb:.2f} MB (at {f['peak_at']}) = "
        f"{f['total_bytes'] / mb:.2f} MB{budget}"
    )
